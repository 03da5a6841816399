-- Usage charges as of D: latest delivery per usage_id, charges dated after D dropped.
select
    cast(usage_id as {{ dbt.type_string() }}) as usage_id,
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(autodesk_id as {{ dbt.type_string() }}) as autodesk_id,
    cast(product_line_code as {{ dbt.type_string() }}) as product_line_code,
    cast(version as {{ dbt.type_string() }}) as version,
    cast(usage_date as date) as usage_date,
    cast(charge_ts as {{ dbt.type_timestamp() }}) as charge_ts,
    cast(tokens as {{ dbt.type_bigint() }}) as tokens,
    delivery_date
from ({{ latest_increment('usage', 'usage_id') }}) as latest_rows
where usage_date <= {{ as_of_date() }}
