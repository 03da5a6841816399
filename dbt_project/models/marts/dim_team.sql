select
    team_id,
    team_alias,
    include_pii,
    status,
    merged_into_team_id
from {{ ref('stg_teams') }}
