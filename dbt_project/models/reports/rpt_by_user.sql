-- By user: per team, range and user with usage in the range.
with user_products as (
    select
        team_id,
        range_order,
        autodesk_id,
        product_name,
        sum(tokens) as tokens
    from {{ ref('report_range_usage') }}
    group by team_id, range_order, autodesk_id, product_name
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

day_figures as (
    select
        team_id,
        as_of_date,
        range_order,
        time_range,
        days_in_range,
        autodesk_id,
        count(distinct usage_date) as days_used
    from {{ ref('report_range_usage') }}
    group by team_id, as_of_date, range_order, time_range, days_in_range, autodesk_id
)

select
    user_days.team_id,
    user_days.as_of_date,
    user_days.range_order,
    user_days.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    products.products_used,
    cast(products.number_of_products as {{ dbt.type_bigint() }}) as number_of_products,
    cast(products.total_tokens_used as {{ dbt.type_bigint() }}) as total_tokens_used,
    cast(user_days.days_used as {{ dbt.type_bigint() }}) as days_used,
    user_days.days_in_range
from day_figures as user_days
inner join product_figures as products
    on
        user_days.team_id = products.team_id
        and user_days.range_order = products.range_order
        and user_days.autodesk_id = products.autodesk_id
inner join {{ ref('report_team_users') }} as shown
    on user_days.team_id = shown.team_id and user_days.autodesk_id = shown.autodesk_id
