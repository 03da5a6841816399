-- Team memberships as of D: the newest snapshot.
select
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(autodesk_id as {{ dbt.type_string() }}) as autodesk_id,
    cast(role as {{ dbt.type_string() }}) as role,
    delivery_date
from ({{ latest_snapshot('team_members') }}) as snapshot_rows
