-- Teams as of D: every team of the newest snapshot, plus the teams it lacks that earlier
-- deliveries still refer to (from_newest_snapshot = false, latest valid version). status is
-- the status in the newest snapshot, so it is null for those: a team only the fallback knows
-- is neither active nor merged as of D and gets no report.
select
    team_id,
    team_alias,
    include_pii,
    case when from_newest_snapshot then status end as status,
    merged_into_team_id,
    from_newest_snapshot
from {{ ref('stg_teams') }}
