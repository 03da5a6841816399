select
    team_id,
    autodesk_id,
    product_line_code,
    version,
    usage_date,
    cast(sum(tokens) as {{ dbt.type_bigint() }}) as tokens,
    cast(count(*) as {{ dbt.type_bigint() }}) as usage_rows
from {{ ref('stg_usage') }}
group by team_id, autodesk_id, product_line_code, version, usage_date
