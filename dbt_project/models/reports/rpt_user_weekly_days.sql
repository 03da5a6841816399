{{ config(materialized=joined_report_materialization()) }}
-- User weekly days: per team, range, user, product and Monday-starting week, the distinct
-- usage dates inside the range (the week may start before the range); weeks without use omitted.
-- The figures come from int_user_weekly_days (ids only); the displayed identity, product and
-- range label are joined here, on read.
select
    counted.team_id,
    {{ as_of_date() }} as as_of_date,
    counted.range_order,
    ranges.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    products.product_name as product,
    counted.week_starting,
    counted.days_used
from {{ ref('int_user_weekly_days') }} as counted
inner join {{ ref('int_time_ranges') }} as ranges on counted.range_order = ranges.range_order
left join {{ ref('dim_product') }} as products
    on counted.product_line_code = products.product_line_code
inner join {{ ref('int_report_team_users') }} as shown
    on counted.team_id = shown.team_id and counted.autodesk_id = shown.autodesk_id
