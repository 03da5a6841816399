select
    event_id,
    event_ts,
    event_date,
    team_id,
    subscription_id,
    event_type,
    tokens,
    related_team_id
from {{ ref('stg_token_events') }}
