-- Summary sheet, lower section: the five time ranges for every reported team (zero-filled).
with range_totals as (
    select
        team_id,
        range_order,
        sum(tokens) as total_tokens_used,
        count(distinct product_line_code) as products_used,
        count(distinct autodesk_id) as total_users
    from {{ ref('int_range_usage') }}
    group by team_id, range_order
)

select
    teams.team_id,
    teams.as_of_date,
    ranges.range_order,
    ranges.time_range,
    ranges.start_date,
    ranges.end_date,
    ranges.months,
    cast(coalesce(totals.total_tokens_used, 0) as {{ dbt.type_bigint() }}) as total_tokens_used,
    cast(coalesce(totals.products_used, 0) as {{ dbt.type_bigint() }}) as products_used,
    cast(coalesce(totals.total_users, 0) as {{ dbt.type_bigint() }}) as total_users
from {{ ref('int_report_teams') }} as teams
cross join {{ ref('int_time_ranges') }} as ranges
left join range_totals as totals
    on teams.team_id = totals.team_id and ranges.range_order = totals.range_order
