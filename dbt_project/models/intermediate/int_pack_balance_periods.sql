{#-
    Each pack's balance re-derived from its token events and the drawdown's
    draws (a running sum on the pack's own timeline, not the drawdown's closed
    form), cut into periods over which it stays positive or stays negative;
    the periods at zero are left out. Only the teams of the latest build's
    charges (int_audited_charges) are covered, from their earliest audited
    charge on: what came before is summed into one opening balance, so a
    nightly build re-derives the replayed stretch, not the history.

    A period runs from the position of its first movement (included) to the
    position of the first movement of the next period (excluded; null: it
    lasts to the end). Positions: see position_before.
-#}
with audit_starts as (
    select
        team_id,
        min(charge_ts) as start_ts
    from {{ ref('int_audited_charges') }}
    group by team_id
),

movements as (
    -- token events of an instant together, then each draw
    select
        e.team_id,
        e.subscription_id,
        e.event_ts as position_ts,
        0 as position_phase,
        '' as position_item,
        sum(e.tokens) as tokens,
        0 as is_draw,
        a.start_ts
    from {{ ref('stg_token_events') }} as e
    inner join audit_starts as a
        on e.team_id = a.team_id
    group by e.team_id, e.subscription_id, e.event_ts, a.start_ts
    union all
    select
        d.team_id,
        d.subscription_id,
        d.entry_ts as position_ts,
        1 as position_phase,
        d.item_id as position_item,
        -d.tokens as tokens,
        1 as is_draw,
        a.start_ts
    from {{ ref('int_drawdown_entries') }} as d
    inner join audit_starts as a
        on d.team_id = a.team_id
    where d.entry_kind = 'draw'
),

timeline as (
    -- each pack's balance at its team's audit start, then its movements from then on
    select
        team_id,
        subscription_id,
        start_ts as position_ts,
        -1 as position_phase,
        '' as position_item,
        sum(tokens) as tokens,
        0 as is_draw
    from movements
    where position_ts < start_ts
    group by team_id, subscription_id, start_ts
    union all
    select
        team_id,
        subscription_id,
        position_ts,
        position_phase,
        position_item,
        tokens,
        is_draw
    from movements
    where position_ts >= start_ts
),

balances as (
    select
        *,
        sum(tokens) over (
            partition by team_id, subscription_id
            order by position_ts, position_phase, position_item
            rows between unbounded preceding and current row
        ) as balance
    from timeline
),

period_starts as (
    -- a period starts where the balance's sign differs from the one before it and runs to
    -- the next start; the few starts are numbered here, not every movement: each movement
    -- then finds its period by a join on its pack and position (a second window over all
    -- movements took 4.7 s at large, the join about 2)
    select
        team_id,
        subscription_id,
        sign(balance) as balance_sign,
        position_ts as from_ts,
        position_phase as from_phase,
        position_item as from_item,
        lead(position_ts) over (
            partition by team_id, subscription_id
            order by position_ts, position_phase, position_item
        ) as to_ts,
        lead(position_phase) over (
            partition by team_id, subscription_id
            order by position_ts, position_phase, position_item
        ) as to_phase,
        lead(position_item) over (
            partition by team_id, subscription_id
            order by position_ts, position_phase, position_item
        ) as to_item
    from balances
    where sign(balance) <> sign(balance - tokens)
),

period_figures as (
    -- each period (known by its start) over the movements from its start to the next one
    select
        s.team_id,
        s.subscription_id,
        s.from_ts,
        s.from_phase,
        s.from_item,
        min(b.balance) as lowest_balance,
        max(b.balance) as highest_balance,
        sum(b.is_draw) as draws
    from period_starts as s
    inner join balances as b
        on
            s.team_id = b.team_id
            and s.subscription_id = b.subscription_id
            and not {{ position_before(
                'b.position_ts', 'b.position_phase', 'b.position_item',
                's.from_ts', 's.from_phase', 's.from_item'
            ) }}
            and (
                s.to_ts is null
                or {{ position_before(
                    'b.position_ts', 'b.position_phase', 'b.position_item',
                    's.to_ts', 's.to_phase', 's.to_item'
                ) }}
            )
    where s.balance_sign <> 0
    group by s.team_id, s.subscription_id, s.from_ts, s.from_phase, s.from_item
)

select
    s.team_id,
    s.subscription_id,
    l.bucket_rank,
    l.start_date,
    l.end_date,
    cast(s.balance_sign as integer) as balance_sign,
    f.lowest_balance,
    f.highest_balance,
    f.draws,
    s.from_ts,
    s.from_phase,
    s.from_item,
    s.to_ts,
    s.to_phase,
    s.to_item
from period_starts as s
-- the inner join also drops the periods at a zero balance (period_figures leaves them out)
inner join period_figures as f
    on
        s.team_id = f.team_id
        and s.subscription_id = f.subscription_id
        and s.from_ts = f.from_ts
        and s.from_phase = f.from_phase
        and s.from_item = f.from_item
inner join {{ ref('int_team_pack_ledger') }} as l
    on s.team_id = l.team_id and s.subscription_id = l.subscription_id
