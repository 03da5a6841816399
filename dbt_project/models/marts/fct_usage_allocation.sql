select
    usage_id,
    team_id,
    subscription_id,
    usage_date,
    charge_ts,
    tokens_drawn
from {{ ref('int_usage_allocation') }}
