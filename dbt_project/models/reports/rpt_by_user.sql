-- By user: per team, range and user with usage in the range. Distinct days are counted per
-- date band, then summed over the bands of the range (bands do not overlap).
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

band_days as (
    select
        team_id,
        band_start,
        autodesk_id,
        count(distinct usage_date) as days_used
    from {{ report_band_daily_usage() }} as daily
    group by team_id, band_start, autodesk_id
),

day_figures as (
    select
        band_days.team_id,
        ranges.range_order,
        band_days.autodesk_id,
        sum(band_days.days_used) as days_used
    from band_days
    inner join {{ ref('int_range_bands') }} as ranges on band_days.band_start = ranges.band_start
    group by band_days.team_id, ranges.range_order, band_days.autodesk_id
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
