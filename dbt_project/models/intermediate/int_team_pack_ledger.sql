-- One row per (team, pack) the team holds, i.e. has at least one token event on.
-- bucket_rank is the drawdown order within the team: earliest end_date, then
-- smallest tokens_purchased, then subscription_id.
with held as (
    select
        e.team_id,
        e.subscription_id,
        count(*) as event_count,
        sum(e.tokens) as tokens_in,
        sum(case when e.event_date <= p.end_date then e.tokens else 0 end) as tokens_in_to_end_date
    from {{ ref('stg_token_events') }} as e
    inner join {{ ref('stg_token_packs') }} as p
        on e.subscription_id = p.subscription_id
    group by e.team_id, e.subscription_id
)

select
    h.team_id,
    h.subscription_id,
    row_number() over (
        partition by h.team_id
        order by p.end_date, p.tokens_purchased, p.subscription_id
    ) as bucket_rank,
    p.start_date,
    p.end_date,
    p.tokens_purchased,
    h.event_count,
    h.tokens_in,
    h.tokens_in_to_end_date
from held as h
inner join {{ ref('stg_token_packs') }} as p
    on h.subscription_id = p.subscription_id
