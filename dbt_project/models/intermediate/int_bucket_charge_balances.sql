{#-
    For every (checked charge, bucket active on the charge's usage_date): the
    tokens the charge drew from the bucket, the charge's residual before
    reaching it (tokens minus what lower-ranked buckets gave), and the
    bucket's balance just before and just after the charge, from the token
    events (stg_token_events, not the entries) and the draws. Read by the
    drawdown audits (singular tests), computed once per build.

    Only the buckets a charge reached are paired with it: those ranked up to
    the last one it drew from, or all of them when part of it is
    unallocated. The buckets after that could fail no audit (the charge had
    nothing left for them), so leaving them out keeps every audit's outcome
    and spares the pairs most charges would add (their later packs).

    A replayed team's kept draws all precede its checked charges, so the
    draws before a checked charge are the bucket's kept draws plus a running
    sum over the checked ones.
-#}
with checked as (
    {{ latest_build_charges() }}
),

draws as (
    select
        a.*,
        case when c.usage_id is null then 0 else 1 end as is_checked
    from {{ ref('int_usage_allocation') }} as a
    left join checked as c
        on a.usage_id = c.usage_id
),

reach as (
    -- the last bucket rank each checked charge reached; null: every bucket (unallocated part)
    select
        c.usage_id,
        case when max(e.entry_kind) = 'unallocated' then null else max(d.bucket_rank) end
            as reach_rank
    from checked as c
    left join {{ ref('int_drawdown_entries') }} as e
        on c.usage_id = e.item_id and e.entry_kind = 'unallocated'
    left join draws as d
        on c.usage_id = d.usage_id
    group by c.usage_id
),

checked_usage as (
    select
        u.*,
        r.reach_rank
    from {{ ref('stg_usage') }} as u
    inner join reach as r
        on u.usage_id = r.usage_id
),

kept_drawn as (
    select
        team_id,
        subscription_id,
        sum(tokens_drawn) as tokens_drawn
    from draws
    where is_checked = 0
    group by team_id, subscription_id
),

inflows as (
    {{ usage_bucket_inflows(
        'checked_usage', ref('stg_token_events'), ref('int_team_pack_ledger'), 'reach_rank'
    ) }}
),

pairs as (
    select
        i.usage_id,
        i.team_id,
        i.subscription_id,
        i.bucket_rank,
        i.inflow_to_charge,
        u.charge_ts,
        u.tokens,
        coalesce(d.tokens_drawn, 0) as tokens_drawn,
        coalesce(k.tokens_drawn, 0) as kept_drawn
    from inflows as i
    inner join checked_usage as u
        on i.usage_id = u.usage_id
    left join draws as d
        on i.usage_id = d.usage_id and i.subscription_id = d.subscription_id
    left join kept_drawn as k
        on i.team_id = k.team_id and i.subscription_id = k.subscription_id
),

with_running as (
    select
        p.*,
        p.kept_drawn + sum(p.tokens_drawn) over (
            partition by p.team_id, p.subscription_id
            order by p.charge_ts, p.usage_id
            rows between unbounded preceding and current row
        ) as drawn_through_charge,
        p.tokens - coalesce(sum(p.tokens_drawn) over (
            partition by p.usage_id
            order by p.bucket_rank
            rows between unbounded preceding and 1 preceding
        ), 0) as residual_before
    from pairs as p
)

select
    usage_id,
    team_id,
    subscription_id,
    bucket_rank,
    tokens,
    tokens_drawn,
    residual_before,
    inflow_to_charge - drawn_through_charge + tokens_drawn as balance_before,
    inflow_to_charge - drawn_through_charge as balance_after
from with_running
