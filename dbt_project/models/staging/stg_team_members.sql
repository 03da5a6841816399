{{ config(materialized=staging_materialization()) }}

-- Team memberships as of D: exactly the newest snapshot (no fallback: the newest snapshot
-- alone decides who is a member, and it only refers to users and teams it holds itself).
select
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(autodesk_id as {{ dbt.type_string() }}) as autodesk_id,
    cast(role as {{ dbt.type_string() }}) as role,
    delivery_date
from ({{ latest_snapshot('team_members') }}) as snapshot_rows
