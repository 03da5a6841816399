-- Per Subscriptions row: a pack that has not started has nothing used, remaining or expired.
-- For an active or expired pack whose running balance never went negative (and, when expired,
-- with no ledger event after its end date), tokens in = used + remaining + expired.
with movements as (
    select
        team_id,
        subscription_id,
        event_ts as moved_at,
        0 as kind,
        event_id as movement_id,
        tokens
    from {{ ref('fct_token_ledger') }}
    union all
    select
        team_id,
        subscription_id,
        charge_ts as moved_at,
        1 as kind,
        usage_id as movement_id,
        -tokens_drawn as tokens
    from {{ ref('fct_usage_allocation') }}
),

running as (
    select
        team_id,
        subscription_id,
        sum(tokens) over (
            partition by team_id, subscription_id
            order by moved_at, kind, movement_id
            rows between unbounded preceding and current row
        ) as balance
    from movements
),

never_negative as (
    select
        team_id,
        subscription_id
    from running
    group by team_id, subscription_id
    having min(balance) >= 0
),

late_events as (
    select distinct
        ledger.team_id,
        ledger.subscription_id
    from {{ ref('fct_token_ledger') }} as ledger
    inner join {{ ref('dim_pack') }} as packs on ledger.subscription_id = packs.subscription_id
    where ledger.event_date > packs.end_date
)

select
    subs.team_id,
    subs.subscription_id,
    subs.status,
    balances.tokens_in,
    subs.tokens_used,
    subs.tokens_remaining,
    subs.tokens_expired
from {{ ref('rpt_subscriptions') }} as subs
inner join {{ ref('fct_team_pack_balance') }} as balances
    on subs.team_id = balances.team_id and subs.subscription_id = balances.subscription_id
left join never_negative
    on
        subs.team_id = never_negative.team_id
        and subs.subscription_id = never_negative.subscription_id
left join late_events
    on subs.team_id = late_events.team_id and subs.subscription_id = late_events.subscription_id
where (
    subs.status = 'Not started'
    and (subs.tokens_used <> 0 or subs.tokens_remaining <> 0 or subs.tokens_expired <> 0)
)
or (
    never_negative.team_id is not null
    and (subs.status = 'Active' or (subs.status = 'Expired' and late_events.team_id is null))
    and balances.tokens_in <> subs.tokens_used + subs.tokens_remaining + subs.tokens_expired
)
