{{ config(materialized='view') }}
-- The drawdown's draws: tokens each charge drew from each pack, with the pack's rank, and
-- when the drawdown wrote the draw (built_at: its grain test checks only newer draws).
select
    e.item_id as usage_id,
    e.team_id,
    e.subscription_id,
    l.bucket_rank,
    e.usage_date,
    e.entry_ts as charge_ts,
    e.tokens as tokens_drawn,
    e.built_at
from {{ ref('int_drawdown_entries') }} as e
inner join {{ ref('int_team_pack_ledger') }} as l
    on e.team_id = l.team_id and e.subscription_id = l.subscription_id
where e.entry_kind = 'draw'
