{{ config(materialized=staging_materialization()) }}

-- Teams as of D: the newest snapshot, plus the latest valid version of every team it lacks
-- (from_newest_snapshot = false). Only teams of the newest snapshot are reported (dim_team).
select
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(team_alias as {{ dbt.type_string() }}) as team_alias,
    cast(include_pii as {{ dbt.type_boolean() }}) as include_pii,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(merged_into_team_id as {{ dbt.type_string() }}) as merged_into_team_id,
    delivery_date,
    cast(from_newest_snapshot as {{ dbt.type_boolean() }}) as from_newest_snapshot
from ({{ snapshot_with_fallback('teams', 'team_id') }}) as snapshot_rows
