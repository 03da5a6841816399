{{ config(materialized=staging_materialization()) }}

-- Products as of D: the newest snapshot, plus the latest valid version of every product it
-- lacks (from_newest_snapshot = false), so earlier usage keeps its product's name.
select
    cast(product_line_code as {{ dbt.type_string() }}) as product_line_code,
    cast(product_name as {{ dbt.type_string() }}) as product_name,
    cast(tokens_per_day as {{ dbt.type_bigint() }}) as tokens_per_day,
    cast(usage_category as {{ dbt.type_string() }}) as usage_category,
    delivery_date,
    cast(from_newest_snapshot as {{ dbt.type_boolean() }}) as from_newest_snapshot
from ({{ snapshot_with_fallback('products', 'product_line_code') }}) as snapshot_rows
