-- Daily usage of the reported teams, once per time range that contains the usage date.
select
    usage.team_id,
    teams.as_of_date,
    ranges.range_order,
    ranges.time_range,
    ranges.months,
    ranges.days_in_range,
    usage.autodesk_id,
    usage.product_line_code,
    products.product_name,
    usage.version,
    usage.usage_date,
    usage.tokens
from {{ ref('fct_daily_usage') }} as usage
inner join {{ ref('report_teams') }} as teams on usage.team_id = teams.team_id
inner join {{ ref('int_time_ranges') }} as ranges
    on usage.usage_date between ranges.start_date and ranges.end_date
left join {{ ref('dim_product') }} as products
    on usage.product_line_code = products.product_line_code
