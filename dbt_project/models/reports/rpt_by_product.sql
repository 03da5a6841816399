-- By product: per team, time range and product used in the range.
with product_totals as (
    select
        team_id,
        range_order,
        product_line_code,
        count(distinct autodesk_id) as total_users,
        sum(tokens) as tokens
    from {{ ref('int_range_usage') }}
    group by team_id, range_order, product_line_code
)

select
    totals.team_id,
    {{ as_of_date() }} as as_of_date,
    totals.range_order,
    ranges.time_range,
    products.product_name as product,
    cast(totals.total_users as {{ dbt.type_bigint() }}) as total_users,
    cast(totals.tokens as {{ dbt.type_bigint() }}) as total_tokens_used,
    {{ report_per_month('totals.tokens', 'ranges.months') }} as average_tokens_per_month
from product_totals as totals
inner join {{ ref('int_time_ranges') }} as ranges on totals.range_order = ranges.range_order
left join {{ ref('dim_product') }} as products
    on totals.product_line_code = products.product_line_code
