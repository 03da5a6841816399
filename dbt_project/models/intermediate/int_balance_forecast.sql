{{ config(pre_hook="{{ drawdown_session_settings() }}") }}
{#-
    The balance forecast, per team with usage in D-89..D or a pack to draw from, exactly, in
    integer units of 1/90 token: the daily burn b is the team's usage tokens of D-89..D / 90,
    i.e. burn_units per day. Days d = D+1 .. D+365 are rows (day_n 1..365) holding the part of
    b still unmet. The packs of int_forecast_packs are applied one level at a time in drawdown
    order: with a fixed order, what pack k gives on day d depends only on its own balance and
    on what packs 1..k-1 left unmet on the days of its window (first_day..last_day), so pack k
    fills the unmet demand of its window from the left until its balance is gone; what is left
    at the end of its window expires (when its end_date is within the 365 days). Spark refuses
    window functions in a recursive CTE, so the levels are unrolled at compile time
    (forecast_depth).
-#}
{%- set depth = forecast_depth() -%}
with burn as (
    select
        team_id,
        sum(tokens) as burn_units
    from {{ ref('fct_daily_usage') }}
    where usage_date between {{ date_add_days(as_of_date(), -89) }} and {{ as_of_date() }}
    group by team_id
),

days as (
    {{ report_day_offsets(366) }}
),

level_0 as (
    select
        burn.team_id,
        days.n as day_n,
        burn.burn_units as unmet,
        cast(0 as {{ dbt.type_bigint() }}) as drawn_expiring
    from burn
    cross join days
    where burn.burn_units > 0 and days.n >= 1
),

{% for k in range(1, depth + 1) %}
    level_{{ k }} as (
        select
            team_id,
            day_n,
            unmet - drawn as unmet,
            drawn_expiring + case when expires then drawn else 0 end as drawn_expiring
        from (
            select
                prev.team_id,
                prev.day_n,
                prev.unmet,
                prev.drawn_expiring,
                coalesce(pack.expires_in_horizon, false) as expires,
                case
                    when prev.day_n between pack.first_day and pack.last_day
                        then least(prev.unmet, greatest(pack.balance_units - coalesce(sum(
                            case when prev.day_n >= pack.first_day then prev.unmet else 0 end
                        ) over (
                            partition by prev.team_id
                            order by prev.day_n
                            rows between unbounded preceding and 1 preceding
                        ), 0), 0))
                    else 0
                end as drawn
            from level_{{ k - 1 }} as prev
            left join {{ ref('int_forecast_packs') }} as pack
                on prev.team_id = pack.team_id and pack.forecast_rank = {{ k }}
        ) as draws
    ),
{% endfor %}

simulated as (
    select
        team_id,
        sum(unmet) as unmet_units,
        sum(drawn_expiring) as drawn_expiring_units,
        min(case when unmet > 0 then day_n end) as run_out_day
    from level_{{ depth }}
    group by team_id
),

pack_totals as (
    select
        team_id,
        sum(case when expires_in_horizon then balance_units else 0 end) as expiring_units
    from {{ ref('int_forecast_packs') }}
    group by team_id
),

teams as (
    select team_id from burn
    union
    select team_id from pack_totals
)

select
    teams.team_id,
    cast(coalesce(burn.burn_units, 0) as {{ dbt.type_bigint() }}) as burn_units,
    case
        when sim.run_out_day is not null
            then {{ date_add_days(as_of_date(), 'sim.run_out_day') }}
    end as run_out_date,
    cast(
        coalesce(packs.expiring_units, 0) - coalesce(sim.drawn_expiring_units, 0)
        as {{ dbt.type_bigint() }}
    ) as expiring_unused_units,
    cast(coalesce(sim.unmet_units, 0) as {{ dbt.type_bigint() }}) as to_buy_units
from teams
left join burn on teams.team_id = burn.team_id
left join simulated as sim on teams.team_id = sim.team_id
left join pack_totals as packs on teams.team_id = packs.team_id
