-- Token distribution: per team, range and product used, the users in each token band
-- (a user's total for the product in the range); all five bands are always listed.
with user_totals as (
    select
        team_id,
        range_order,
        product_line_code,
        autodesk_id,
        sum(tokens) as tokens
    from {{ ref('int_range_usage') }}
    group by team_id, range_order, product_line_code, autodesk_id
),

products_used as (
    select distinct
        team_id,
        range_order,
        product_line_code
    from user_totals
),

bands as (
    select
        band_order,
        band,
        min_tokens,
        max_tokens
    from {{ ref('token_bands') }}
),

counted as (
    select
        used.team_id,
        used.range_order,
        used.product_line_code,
        bands.band_order,
        bands.band,
        count(totals.autodesk_id) as users
    from products_used as used
    cross join bands
    left join user_totals as totals
        on
            used.team_id = totals.team_id
            and used.range_order = totals.range_order
            and used.product_line_code = totals.product_line_code
            and bands.min_tokens <= totals.tokens
            and (bands.max_tokens is null or bands.max_tokens >= totals.tokens)
    group by
        used.team_id, used.range_order, used.product_line_code, bands.band_order, bands.band
)

select
    counted.team_id,
    {{ as_of_date() }} as as_of_date,
    counted.range_order,
    ranges.time_range,
    products.product_name as product,
    counted.band_order,
    counted.band,
    cast(counted.users as {{ dbt.type_bigint() }}) as users  -- noqa: RF04
from counted
inner join {{ ref('int_time_ranges') }} as ranges on counted.range_order = ranges.range_order
left join {{ ref('dim_product') }} as products
    on counted.product_line_code = products.product_line_code
