-- Users as of D: the newest snapshot.
select
    cast(autodesk_id as {{ dbt.type_string() }}) as autodesk_id,
    cast(email as {{ dbt.type_string() }}) as email,
    cast(first_name as {{ dbt.type_string() }}) as first_name,
    cast(last_name as {{ dbt.type_string() }}) as last_name,
    delivery_date
from ({{ latest_snapshot('users') }}) as snapshot_rows
