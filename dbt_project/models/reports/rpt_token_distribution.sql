-- Token distribution: per team, range and product used, the users in each token band
-- (a user's total for the product in the range); all five bands are always listed.
with user_totals as (
    select
        team_id,
        as_of_date,
        range_order,
        time_range,
        product_line_code,
        product_name,
        autodesk_id,
        sum(tokens) as tokens
    from {{ ref('report_range_usage') }}
    group by
        team_id, as_of_date, range_order, time_range, product_line_code, product_name, autodesk_id
),

products_used as (
    select distinct
        team_id,
        as_of_date,
        range_order,
        time_range,
        product_line_code,
        product_name
    from user_totals
),

bands as (
    select
        band_order,
        band,
        min_tokens,
        max_tokens
    from {{ ref('token_bands') }}
)

select
    products.team_id,
    products.as_of_date,
    products.range_order,
    products.time_range,
    products.product_name as product,
    bands.band_order,
    bands.band,
    cast(count(totals.autodesk_id) as {{ dbt.type_bigint() }}) as users  -- noqa: RF04
from products_used as products
cross join bands
left join user_totals as totals
    on
        products.team_id = totals.team_id
        and products.range_order = totals.range_order
        and products.product_line_code = totals.product_line_code
        and bands.min_tokens <= totals.tokens
        and (bands.max_tokens is null or bands.max_tokens >= totals.tokens)
group by
    products.team_id,
    products.as_of_date,
    products.range_order,
    products.time_range,
    products.product_line_code,
    products.product_name,
    bands.band_order,
    bands.band
