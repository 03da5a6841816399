-- By product: per team, time range and product used in the range.
select
    team_id,
    as_of_date,
    range_order,
    time_range,
    product_name as product,
    cast(count(distinct autodesk_id) as {{ dbt.type_bigint() }}) as total_users,
    cast(sum(tokens) as {{ dbt.type_bigint() }}) as total_tokens_used,
    {{ report_per_month('sum(tokens)', 'months') }} as average_tokens_per_month
from {{ ref('report_range_usage') }}
group by team_id, as_of_date, range_order, time_range, months, product_line_code, product_name
