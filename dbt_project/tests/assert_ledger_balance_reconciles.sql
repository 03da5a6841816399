-- Per team and pack held: tokens_in is the sum of its ledger events,
-- tokens_drawn the sum of its allocation rows, balance their difference.
with ledger as (
    select
        team_id,
        subscription_id,
        sum(tokens) as tokens_in
    from {{ ref('fct_token_ledger') }}
    group by all
),

drawn as (
    select
        team_id,
        subscription_id,
        sum(tokens_drawn) as tokens_drawn
    from {{ ref('fct_usage_allocation') }}
    group by all
)

select
    b.team_id,
    b.subscription_id
from {{ ref('fct_team_pack_balance') }} as b
left join ledger as l
    on b.team_id = l.team_id and b.subscription_id = l.subscription_id
left join drawn as d
    on b.team_id = d.team_id and b.subscription_id = d.subscription_id
where
    l.tokens_in is null
    or b.tokens_in <> l.tokens_in
    or b.tokens_drawn <> coalesce(d.tokens_drawn, 0)
    or b.balance <> b.tokens_in - b.tokens_drawn
union all
select
    d.team_id,
    d.subscription_id
from drawn as d
left join {{ ref('fct_team_pack_balance') }} as b
    on d.team_id = b.team_id and d.subscription_id = b.subscription_id
where b.team_id is null
