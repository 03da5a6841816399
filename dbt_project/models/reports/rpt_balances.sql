-- Balances sheet: one row per reported team. Pack figures come from the team's packs active
-- on D (as Summary), the forecast from int_balance_forecast (units of 1/90 token, rounded
-- half up here), then the alerts in their fixed order.
with pack_figures as (
    select
        balances.team_id,
        sum(case when balances.status = 'Active' then balances.tokens_drawn else 0 end)
            as tokens_used,
        sum(case when balances.status = 'Active' then balances.remaining_tokens else 0 end)
            as tokens_available,
        sum(
            case
                when
                    balances.status = 'Active'
                    and packs.end_date <= {{ date_add_days(as_of_date(), 89) }}
                    then balances.remaining_tokens
                else 0
            end
        ) as tokens_expiring_within_90_days,
        min(
            case
                when balances.status = 'Active' and balances.remaining_tokens > 0
                    then packs.end_date
            end
        ) as next_expiry_date
    from {{ ref('fct_team_pack_balance') }} as balances
    inner join {{ ref('dim_pack') }} as packs on balances.subscription_id = packs.subscription_id
    group by balances.team_id
),

unallocated as (
    select
        team_id,
        sum(
            case
                when usage_date >= {{ date_add_days(as_of_date(), -29) }}
                    then unallocated_tokens
                else 0
            end
        ) as unallocated_30,
        sum(unallocated_tokens) as unallocated_365
    from {{ ref('fct_usage') }}
    where usage_date between {{ date_add_days(as_of_date(), -364) }} and {{ as_of_date() }}
    group by team_id
),

activity as (
    select
        team_id,
        count(distinct product_line_code) as products_used,
        count(distinct autodesk_id) as users
    from {{ ref('fct_daily_usage') }}
    where usage_date between {{ date_add_days(as_of_date(), -89) }} and {{ as_of_date() }}
    group by team_id
),

figures as (
    select
        teams.team_id,
        teams.as_of_date,
        teams.team_alias as team,
        coalesce(packs.tokens_available, 0) as tokens_available,
        coalesce(packs.tokens_used, 0) as tokens_used,
        coalesce(packs.tokens_available, 0) + coalesce(packs.tokens_used, 0) as tokens_total,
        coalesce(packs.tokens_expiring_within_90_days, 0) as tokens_expiring_within_90_days,
        packs.next_expiry_date,
        coalesce(unallocated.unallocated_30, 0) as unallocated_30,
        coalesce(unallocated.unallocated_365, 0) as unallocated_365,
        coalesce(activity.products_used, 0) as products_used,
        coalesce(activity.users, 0) as users,
        coalesce(forecast.burn_units, 0) as burn_units,
        forecast.run_out_date,
        coalesce(forecast.expiring_unused_units, 0) as expiring_unused_units,
        coalesce(forecast.to_buy_units, 0) as to_buy_units
    from {{ ref('int_report_teams') }} as teams
    left join pack_figures as packs on teams.team_id = packs.team_id
    left join unallocated on teams.team_id = unallocated.team_id
    left join activity on teams.team_id = activity.team_id
    left join {{ ref('int_balance_forecast') }} as forecast
        on teams.team_id = forecast.team_id
),

alerting as (
    select
        *,
        tokens_total = 0 or tokens_available * 5 < tokens_total as low_balance,
        tokens_expiring_within_90_days > 0 as expiring_alert,
        coalesce(run_out_date <= {{ date_add_days(as_of_date(), 90) }}, false) as run_out_alert,
        unallocated_30 > 0 as unallocated_alert
    from figures
)

select
    team_id,
    as_of_date,
    team,
    cast(tokens_available as {{ dbt.type_bigint() }}) as tokens_available,
    cast(tokens_used as {{ dbt.type_bigint() }}) as tokens_used,
    cast(tokens_total as {{ dbt.type_bigint() }}) as tokens_total,
    case
        when tokens_total > 0 then cast(tokens_available as double) / tokens_total
    end as available_share,
    cast(tokens_expiring_within_90_days as {{ dbt.type_bigint() }})
        as tokens_expiring_within_90_days,
    next_expiry_date,
    cast({{ dbt.datediff('as_of_date', 'next_expiry_date', 'day') }} as {{ dbt.type_int() }})
        as days_to_next_expiry,
    cast(unallocated_30 as {{ dbt.type_bigint() }}) as unallocated_tokens_past_30_days,
    cast(unallocated_365 as {{ dbt.type_bigint() }}) as unallocated_tokens_past_365_days,
    cast(products_used as {{ dbt.type_bigint() }}) as products_used_past_90_days,
    cast(users as {{ dbt.type_bigint() }}) as users_past_90_days,
    -- b = burn_units / 90 tokens; in hundredths, burn_units * 100 / 90, rounded half up.
    cast(
        cast({{ divide_round_half_up('burn_units * 100', 90) }} as decimal(20, 0)) * 0.01
        as decimal(20, 2)
    ) as daily_burn_rate,
    run_out_date,
    {{ divide_round_half_up('expiring_unused_units', 90) }}
        as tokens_expiring_unused_next_12_months,
    {{ divide_round_half_up('to_buy_units', 90) }} as tokens_to_buy_next_12_months,
    concat_ws(
        '; ',
        case when low_balance then 'low balance' end,
        case when expiring_alert then 'tokens expiring within 90 days' end,
        case when run_out_alert then 'run-out within 90 days' end,
        case when unallocated_alert then 'usage not covered by a pack' end
    ) as alerts,
    low_balance
from alerting
