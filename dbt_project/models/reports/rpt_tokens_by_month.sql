-- Tokens by month sheet: per reported team, the 12 months of Past 12 months (L-11 .. L),
-- oldest first, plus the month of D up to D when D is not its month's last day (complete =
-- 'no'). Figures as for a time range over the month's days up to D (zero-filled), from
-- int_team_month_usage.
with twelve_months as (
    select start_date
    from {{ ref('int_time_ranges') }}
    where range_order = 5
),

offsets as (
    {{ report_day_offsets(13) }}
),

months as (
    select
        {{ date_add_months('twelve_months.start_date', 'offsets.n') }} as month,
        case when offsets.n = 12 then 'no' else 'yes' end as complete
    from twelve_months
    cross join offsets
),

month_spans as (
    select
        month,
        complete
    from months
    where month <= {{ as_of_date() }}
)

select
    teams.team_id,
    teams.as_of_date,
    spans.month,
    spans.complete,
    cast(coalesce(totals.tokens_used, 0) as {{ dbt.type_bigint() }}) as tokens_used,
    cast(coalesce(totals.products_used, 0) as {{ dbt.type_bigint() }}) as products_used,
    cast(coalesce(totals.total_users, 0) as {{ dbt.type_bigint() }}) as total_users
from {{ ref('int_report_teams') }} as teams
cross join month_spans as spans
left join {{ ref('int_team_month_usage') }} as totals
    on teams.team_id = totals.team_id and spans.month = totals.month
