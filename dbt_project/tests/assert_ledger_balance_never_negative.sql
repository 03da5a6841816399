-- The drawdown's closed form assumes a pack never holds a negative balance
-- when a charge with tokens left reaches it (an outflow larger than the
-- balance). Returns every audited charge that reached a pack (eligible, ranked
-- up to the last pack it drew from, or any when part of it is unallocated)
-- while the pack's re-derived balance just before the charge was negative.
select
    c.usage_id,
    p.subscription_id,
    p.lowest_balance
from {{ ref('int_audited_charges') }} as c
inner join {{ ref('int_pack_balance_periods') }} as p
    on c.team_id = p.team_id
where
    p.balance_sign < 0
    and c.usage_date >= p.start_date
    and c.usage_date <= p.end_date
    and (c.unallocated_tokens > 0 or p.bucket_rank <= c.reach_rank)
    -- the period holds the pack's last movement before the charge
    and {{ position_before('p.from_ts', 'p.from_phase', 'p.from_item', 'c.charge_ts', '1', 'c.usage_id') }}
    and (
        p.to_ts is null
        or not {{ position_before('p.to_ts', 'p.to_phase', 'p.to_item', 'c.charge_ts', '1', 'c.usage_id') }}
    )
