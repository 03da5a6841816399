-- Users by version: distinct users per team, range, product and version used in the range.
select
    team_id,
    as_of_date,
    range_order,
    time_range,
    product_name as product,
    version,
    cast(count(distinct autodesk_id) as {{ dbt.type_bigint() }}) as users  -- noqa: RF04
from {{ ref('report_range_usage') }}
group by team_id, as_of_date, range_order, time_range, product_line_code, product_name, version
