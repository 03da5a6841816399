-- Team memberships as of D: who belongs to which team, with what role, exactly as the newest
-- team_members snapshot on or before D says (no fallback to earlier deliveries). The reports
-- read memberships here, never from staging.
select
    team_id,
    autodesk_id,
    role,
    delivery_date
from {{ ref('stg_team_members') }}
