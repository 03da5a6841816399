-- Products as of D: the newest snapshot.
select
    cast(product_line_code as {{ dbt.type_string() }}) as product_line_code,
    cast(product_name as {{ dbt.type_string() }}) as product_name,
    cast(tokens_per_day as {{ dbt.type_bigint() }}) as tokens_per_day,
    cast(usage_category as {{ dbt.type_string() }}) as usage_category,
    delivery_date
from ({{ latest_snapshot('products') }}) as snapshot_rows
