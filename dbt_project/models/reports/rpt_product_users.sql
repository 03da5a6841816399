-- Product users: per team, range, product and user of the product in the range.
with user_totals as (
    select
        team_id,
        range_order,
        product_line_code,
        autodesk_id,
        sum(tokens) as tokens
    from {{ ref('int_range_usage') }}
    group by team_id, range_order, product_line_code, autodesk_id
)

select
    totals.team_id,
    {{ as_of_date() }} as as_of_date,
    totals.range_order,
    ranges.time_range,
    products.product_name as product,
    shown.hashed_autodesk_id,
    shown.user_name,
    cast(totals.tokens as {{ dbt.type_bigint() }}) as total_tokens_used,
    {{ report_per_month('totals.tokens', 'ranges.months') }} as average_tokens_per_month
from user_totals as totals
inner join {{ ref('int_time_ranges') }} as ranges on totals.range_order = ranges.range_order
left join {{ ref('dim_product') }} as products
    on totals.product_line_code = products.product_line_code
inner join {{ ref('int_report_team_users') }} as shown
    on totals.team_id = shown.team_id and totals.autodesk_id = shown.autodesk_id
