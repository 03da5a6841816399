-- Greedy order: a charge that drew from a later pack, or left tokens
-- unallocated, must have found every earlier eligible pack empty. Returns each
-- audited charge and pack whose re-derived balance just after the charge was
-- still positive although the charge went past it.
select
    c.usage_id,
    p.subscription_id,
    p.bucket_rank,
    c.reach_rank,
    c.unallocated_tokens
from {{ ref('int_audited_charges') }} as c
inner join {{ ref('int_pack_balance_periods') }} as p
    on c.team_id = p.team_id
where
    p.balance_sign > 0
    and c.usage_date >= p.start_date
    and c.usage_date <= p.end_date
    and (c.unallocated_tokens > 0 or p.bucket_rank < c.reach_rank)
    -- the period holds the pack's last movement up to and including the charge
    and not {{ position_before('c.charge_ts', '1', 'c.usage_id', 'p.from_ts', 'p.from_phase', 'p.from_item') }}
    and (
        p.to_ts is null
        or {{ position_before('c.charge_ts', '1', 'c.usage_id', 'p.to_ts', 'p.to_phase', 'p.to_item') }}
    )
