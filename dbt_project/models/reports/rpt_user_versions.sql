-- User versions: per team, range, user, product and version, the distinct usage dates
-- (int_range_usage counts the daily rows, unique per version and date, in the range).
select
    counted.team_id,
    {{ as_of_date() }} as as_of_date,
    counted.range_order,
    ranges.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    products.product_name as product,
    counted.version,
    counted.days_used
from {{ ref('int_range_usage') }} as counted
inner join {{ ref('int_time_ranges') }} as ranges on counted.range_order = ranges.range_order
left join {{ ref('dim_product') }} as products
    on counted.product_line_code = products.product_line_code
inner join {{ ref('int_report_team_users') }} as shown
    on counted.team_id = shown.team_id and counted.autodesk_id = shown.autodesk_id
