-- Tokens used by day: D-364 .. D for every reported team, zero-filled, all usage counted
-- (active and expired packs alike, unallocated tokens included).
with offsets as (
    {{ report_day_offsets(365) }}
),

days as (
    select
        teams.team_id,
        teams.as_of_date,
        {{ date_add_days('teams.as_of_date', '-offsets.n') }} as usage_date
    from {{ ref('int_report_teams') }} as teams
    cross join offsets
),

daily as (
    select
        team_id,
        usage_date,
        sum(tokens) as tokens
    from {{ ref('fct_daily_usage') }}
    where usage_date >= {{ date_add_days(as_of_date(), -364) }}
    group by team_id, usage_date
)

select
    days.team_id,
    days.as_of_date,
    days.usage_date,
    cast(coalesce(daily.tokens, 0) as {{ dbt.type_bigint() }}) as tokens_used
from days
left join daily on days.team_id = daily.team_id and days.usage_date = daily.usage_date
