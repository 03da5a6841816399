-- User weekly days: per team, range, user, product and Monday-starting week, the distinct
-- usage dates inside the range (the week may start before the range); weeks without use omitted.
with weekly as (
    select
        team_id,
        as_of_date,
        range_order,
        time_range,
        autodesk_id,
        product_line_code,
        product_name,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_starting,
        usage_date
    from {{ ref('report_range_usage') }}
)

select
    weekly.team_id,
    weekly.as_of_date,
    weekly.range_order,
    weekly.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    weekly.product_name as product,
    weekly.week_starting,
    cast(count(distinct weekly.usage_date) as {{ dbt.type_bigint() }}) as days_used
from weekly
inner join {{ ref('report_team_users') }} as shown
    on weekly.team_id = shown.team_id and weekly.autodesk_id = shown.autodesk_id
group by
    weekly.team_id,
    weekly.as_of_date,
    weekly.range_order,
    weekly.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    weekly.product_line_code,
    weekly.product_name,
    weekly.week_starting
