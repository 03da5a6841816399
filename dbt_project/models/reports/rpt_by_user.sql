-- By user: per team, range and user with usage in the range. Distinct days are counted once
-- per user, one column per range (macros/reports/range_columns.sql), then one row per range.
with user_products as (
    select
        ranged.team_id,
        ranged.range_order,
        ranged.autodesk_id,
        products.product_name,
        sum(ranged.tokens) as tokens
    from {{ ref('int_range_usage') }} as ranged
    left join {{ ref('dim_product') }} as products
        on ranged.product_line_code = products.product_line_code
    group by ranged.team_id, ranged.range_order, ranged.autodesk_id, products.product_name
),

product_figures as (
    select
        team_id,
        range_order,
        autodesk_id,
        {{ report_sorted_join('product_name') }} as products_used,
        count(*) as number_of_products,
        sum(tokens) as total_tokens_used
    from user_products
    group by team_id, range_order, autodesk_id
),

user_dates as (
    -- one row per team, user and date in the span of the ranges
    select
        daily.team_id,
        daily.autodesk_id,
        daily.usage_date
    from {{ report_daily_usage_in_span() }} as daily
    group by daily.team_id, daily.autodesk_id, daily.usage_date
),

days_per_range as (
    select
        user_dates.team_id,
        user_dates.autodesk_id,
        {{ report_sum_per_range('1', 'user_dates.usage_date', 'days') }}
    from user_dates
    cross join {{ report_range_bounds() }} as bounds
    group by user_dates.team_id, user_dates.autodesk_id
),

day_figures as (
    select
        days_per_range.team_id,
        ranges.range_order,
        days_per_range.autodesk_id,
        {{ report_range_value('days_per_range.days', 'ranges.range_order') }} as days_used
    from days_per_range
    cross join {{ ref('int_time_ranges') }} as ranges
    where {{ report_range_value('days_per_range.days', 'ranges.range_order') }} > 0
)

select
    user_days.team_id,
    {{ as_of_date() }} as as_of_date,
    user_days.range_order,
    ranges.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    products.products_used,
    cast(products.number_of_products as {{ dbt.type_bigint() }}) as number_of_products,
    cast(products.total_tokens_used as {{ dbt.type_bigint() }}) as total_tokens_used,
    cast(user_days.days_used as {{ dbt.type_bigint() }}) as days_used,
    ranges.days_in_range
from day_figures as user_days
inner join {{ ref('int_time_ranges') }} as ranges on user_days.range_order = ranges.range_order
inner join product_figures as products
    on
        user_days.team_id = products.team_id
        and user_days.range_order = products.range_order
        and user_days.autodesk_id = products.autodesk_id
inner join {{ ref('int_report_team_users') }} as shown
    on user_days.team_id = shown.team_id and user_days.autodesk_id = shown.autodesk_id
