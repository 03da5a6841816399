-- User weekly days: per team, range, user, product and Monday-starting week, the distinct
-- usage dates inside the range (the week may start before the range); weeks without use omitted.
-- Counted on ids per date band, summed over the bands of the range, then the displayed
-- identity is joined.
with band_weeks as (
    select
        team_id,
        band_start,
        autodesk_id,
        product_line_code,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_starting,
        count(distinct usage_date) as days_used
    from {{ report_band_daily_usage() }} as daily
    group by
        team_id,
        band_start,
        autodesk_id,
        product_line_code,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date)
),

days_per_week as (
    select
        band_weeks.team_id,
        ranges.range_order,
        band_weeks.autodesk_id,
        band_weeks.product_line_code,
        band_weeks.week_starting,
        sum(band_weeks.days_used) as days_used
    from band_weeks
    inner join {{ ref('int_range_bands') }} as ranges on band_weeks.band_start = ranges.band_start
    group by
        band_weeks.team_id,
        ranges.range_order,
        band_weeks.autodesk_id,
        band_weeks.product_line_code,
        band_weeks.week_starting
)

select
    counted.team_id,
    {{ as_of_date() }} as as_of_date,
    counted.range_order,
    ranges.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    products.product_name as product,
    counted.week_starting,
    cast(counted.days_used as {{ dbt.type_bigint() }}) as days_used
from days_per_week as counted
inner join {{ ref('int_time_ranges') }} as ranges on counted.range_order = ranges.range_order
left join {{ ref('dim_product') }} as products
    on counted.product_line_code = products.product_line_code
inner join {{ ref('int_report_team_users') }} as shown
    on counted.team_id = shown.team_id and counted.autodesk_id = shown.autodesk_id
