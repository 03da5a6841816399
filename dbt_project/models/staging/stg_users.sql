{{ config(materialized=staging_materialization()) }}

-- Users as of D: the newest snapshot, plus the latest valid version of every user it lacks
-- (from_newest_snapshot = false), so a user that earlier rows refer to stays known.
select
    cast(autodesk_id as {{ dbt.type_string() }}) as autodesk_id,
    cast(email as {{ dbt.type_string() }}) as email,
    cast(first_name as {{ dbt.type_string() }}) as first_name,
    cast(last_name as {{ dbt.type_string() }}) as last_name,
    delivery_date,
    cast(from_newest_snapshot as {{ dbt.type_boolean() }}) as from_newest_snapshot
from ({{ snapshot_with_fallback('users', 'autodesk_id') }}) as snapshot_rows
