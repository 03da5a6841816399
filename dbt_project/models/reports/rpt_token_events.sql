-- Token events sheet: per reported team, its token events dated D-89 .. D, and one
-- 'expiration' row per pack it holds (has a token event on) whose end_date is in D-89 .. D-1
-- and whose expired tokens (the team's own, fct_team_pack_balance) are positive.
with events as (
    select
        ledger.team_id,
        ledger.event_date,
        ledger.event_type as event,
        ledger.tokens,
        ledger.subscription_id,
        ledger.related_team_id as related_team,
        ledger.event_id,
        ledger.event_ts,
        0 as entry_order
    from {{ ref('fct_token_ledger') }} as ledger
    where ledger.event_date between {{ date_add_days(as_of_date(), -89) }} and {{ as_of_date() }}
),

expirations as (
    select
        balances.team_id,
        packs.end_date as event_date,
        'expiration' as event,
        -balances.expired_tokens as tokens,
        balances.subscription_id,
        1 as entry_order
    from {{ ref('fct_team_pack_balance') }} as balances
    inner join {{ ref('dim_pack') }} as packs on balances.subscription_id = packs.subscription_id
    where
        packs.end_date between {{ date_add_days(as_of_date(), -89) }}
        and {{ date_add_days(as_of_date(), -1) }}
        and balances.expired_tokens > 0
),

entries as (
    select
        team_id,
        event_date,
        event,
        tokens,
        subscription_id,
        related_team,
        event_id,
        event_ts,
        entry_order
    from events
    union all
    select
        team_id,
        event_date,
        event,
        tokens,
        subscription_id,
        cast(null as {{ dbt.type_string() }}) as related_team,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_timestamp() }}) as event_ts,
        entry_order
    from expirations
)

select
    entries.team_id,
    teams.as_of_date,
    entries.event_date,
    entries.event,
    cast(entries.tokens as {{ dbt.type_bigint() }}) as tokens,
    entries.subscription_id,
    entries.related_team,
    entries.event_id,
    entries.event_ts,
    cast(entries.entry_order as {{ dbt.type_int() }}) as entry_order
from entries
inner join {{ ref('int_report_teams') }} as teams on entries.team_id = teams.team_id
