-- Summary sheet, upper section: one row per reported team.
-- Pack figures count only packs active on D; added/removed cover the ledger of D-6 .. D.
with pack_figures as (
    select
        team_id,
        sum(case when status = 'Active' then tokens_drawn else 0 end) as tokens_used,
        sum(case when status = 'Active' then remaining_tokens else 0 end) as tokens_remaining
    from {{ ref('fct_team_pack_balance') }}
    group by team_id
),

ledger_week as (
    select
        team_id,
        sum(case when tokens > 0 then tokens else 0 end) as tokens_added,
        sum(case when tokens < 0 then tokens else 0 end) as tokens_removed
    from {{ ref('fct_token_ledger') }}
    where
        event_date between {{ date_add_days(as_of_date(), -6) }}
        and {{ as_of_date() }}
    group by team_id
)

select
    teams.team_id,
    teams.as_of_date,
    teams.team_alias as team,
    cast(coalesce(packs.tokens_used, 0) as {{ dbt.type_bigint() }}) as tokens_used,
    cast(coalesce(packs.tokens_remaining, 0) as {{ dbt.type_bigint() }}) as tokens_remaining,
    cast(coalesce(ledger.tokens_added, 0) as {{ dbt.type_bigint() }}) as tokens_added,
    cast(coalesce(ledger.tokens_removed, 0) as {{ dbt.type_bigint() }}) as tokens_removed,
    cast(
        coalesce(ledger.tokens_added, 0) + coalesce(ledger.tokens_removed, 0)
        as {{ dbt.type_bigint() }}
    ) as tokens_net
from {{ ref('int_report_teams') }} as teams
left join pack_figures as packs on teams.team_id = packs.team_id
left join ledger_week as ledger on teams.team_id = ledger.team_id
