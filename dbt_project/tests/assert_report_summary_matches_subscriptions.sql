{{ config(meta={'dagster': {'ref': {'name': 'rpt_summary'}}}) }}
-- Per team, Summary tokens used = the tokens used of its Active Subscriptions rows, and
-- Summary tokens remaining = the tokens remaining of all its Subscriptions rows (only Active
-- packs may hold any). A team on one side only counts as 0 on the other.
with packs as (
    select
        team_id,
        sum(case when status = 'Active' then tokens_used else 0 end) as tokens_used,
        sum(tokens_remaining) as tokens_remaining
    from {{ ref('rpt_subscriptions') }}
    group by team_id
)

select
    coalesce(summary_rows.team_id, packs.team_id) as team_id,
    summary_rows.tokens_used,
    summary_rows.tokens_remaining,
    packs.tokens_used as subscriptions_used,
    packs.tokens_remaining as subscriptions_remaining
from {{ ref('rpt_summary') }} as summary_rows
full outer join packs on summary_rows.team_id = packs.team_id
where
    coalesce(summary_rows.tokens_used, 0) <> coalesce(packs.tokens_used, 0)
    or coalesce(summary_rows.tokens_remaining, 0) <> coalesce(packs.tokens_remaining, 0)
