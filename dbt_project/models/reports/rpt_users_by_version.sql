-- Users by version: distinct users per team, range, product and version used in the range.
with version_users as (
    select
        team_id,
        range_order,
        product_line_code,
        version,
        count(distinct autodesk_id) as users
    from {{ ref('int_range_usage') }}
    group by team_id, range_order, product_line_code, version
)

select
    counted.team_id,
    {{ as_of_date() }} as as_of_date,
    counted.range_order,
    ranges.time_range,
    products.product_name as product,
    counted.version,
    cast(counted.users as {{ dbt.type_bigint() }}) as users  -- noqa: RF04
from version_users as counted
inner join {{ ref('int_time_ranges') }} as ranges on counted.range_order = ranges.range_order
left join {{ ref('dim_product') }} as products
    on counted.product_line_code = products.product_line_code
