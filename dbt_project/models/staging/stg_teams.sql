-- Teams as of D: the newest snapshot.
select
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(team_alias as {{ dbt.type_string() }}) as team_alias,
    cast(include_pii as {{ dbt.type_boolean() }}) as include_pii,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(merged_into_team_id as {{ dbt.type_string() }}) as merged_into_team_id,
    delivery_date
from ({{ latest_snapshot('teams') }}) as snapshot_rows
