-- The packs the balance forecast draws from: per team, every pack it holds whose end_date is
-- after D (packs not yet started included, unless they start after the 365 simulated days)
-- and whose balance at the end of D is positive, ranked in the drawdown order. Days are
-- counted from D (day 1 = D + 1); amounts are in units of 1/90 token, the unit in which the
-- daily burn rate (90 days of usage / 90) is a whole number.
with packs as (
    select
        balances.team_id,
        balances.subscription_id,
        ledger.start_date,
        ledger.end_date,
        ledger.tokens_purchased,
        balances.balance
    from {{ ref('fct_team_pack_balance') }} as balances
    inner join {{ ref('int_team_pack_ledger') }} as ledger
        on
            balances.team_id = ledger.team_id
            and balances.subscription_id = ledger.subscription_id
    where
        ledger.end_date > {{ as_of_date() }}
        and ledger.start_date <= {{ date_add_days(as_of_date(), 365) }}
        and balances.balance > 0
)

select
    team_id,
    subscription_id,
    cast(row_number() over (
        partition by team_id
        order by end_date, tokens_purchased, subscription_id
    ) as {{ dbt.type_int() }}) as forecast_rank,
    start_date,
    end_date,
    cast(
        greatest({{ dbt.datediff(as_of_date(), 'start_date', 'day') }}, 1) as {{ dbt.type_int() }}
    ) as first_day,
    cast(
        least({{ dbt.datediff(as_of_date(), 'end_date', 'day') }}, 365) as {{ dbt.type_int() }}
    ) as last_day,
    end_date <= {{ date_add_days(as_of_date(), 365) }} as expires_in_horizon,
    cast(balance * 90 as {{ dbt.type_bigint() }}) as balance_units
from packs
