select
    u.autodesk_id,
    h.hashed_autodesk_id,
    u.email,
    u.first_name,
    u.last_name,
    {{ join_name_parts('u.first_name', 'u.last_name') }} as full_name
from {{ ref('stg_users') }} as u
left join {{ source('raw', 'user_hashes') }} as h
    on u.autodesk_id = h.autodesk_id
