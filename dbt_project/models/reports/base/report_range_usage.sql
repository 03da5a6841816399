-- Daily usage of the reported teams, once per time range that contains the usage date.
select
    daily.team_id,
    teams.as_of_date,
    ranges.range_order,
    ranges.time_range,
    ranges.months,
    ranges.days_in_range,
    daily.autodesk_id,
    daily.product_line_code,
    products.product_name,
    daily.version,
    daily.usage_date,
    daily.tokens
from {{ ref('fct_daily_usage') }} as daily
inner join {{ ref('report_teams') }} as teams on daily.team_id = teams.team_id
inner join {{ ref('int_time_ranges') }} as ranges
    on daily.usage_date between ranges.start_date and ranges.end_date
left join {{ ref('dim_product') }} as products
    on daily.product_line_code = products.product_line_code
