-- Users as of D with their hashed id; from_newest_snapshot = false for a user the newest
-- snapshot lacks, kept in its latest valid version (see stg_users).
select
    u.autodesk_id,
    h.hashed_autodesk_id,
    u.email,
    u.first_name,
    u.last_name,
    {{ join_name_parts('u.first_name', 'u.last_name') }} as full_name,
    u.from_newest_snapshot
from {{ ref('stg_users') }} as u
left join {{ source('raw', 'user_hashes') }} as h
    on u.autodesk_id = h.autodesk_id
