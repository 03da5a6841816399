-- By user: per team, range and user with usage in the range. The days used come from
-- int_user_range_days (distinct dates per user, whatever the product).
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
from {{ ref('int_user_range_days') }} as user_days
inner join {{ ref('int_time_ranges') }} as ranges on user_days.range_order = ranges.range_order
inner join product_figures as products
    on
        user_days.team_id = products.team_id
        and user_days.range_order = products.range_order
        and user_days.autodesk_id = products.autodesk_id
inner join {{ ref('int_report_team_users') }} as shown
    on user_days.team_id = shown.team_id and user_days.autodesk_id = shown.autodesk_id
