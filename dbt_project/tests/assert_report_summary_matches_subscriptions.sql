-- Summary tokens used / remaining equal the sums over the team's Active Subscriptions rows.
with active_packs as (
    select
        team_id,
        sum(tokens_used) as tokens_used,
        sum(tokens_remaining) as tokens_remaining
    from {{ ref('rpt_subscriptions') }}
    where status = 'Active'
    group by team_id
)

select
    summary_rows.team_id,
    summary_rows.tokens_used,
    summary_rows.tokens_remaining,
    active_packs.tokens_used as subscriptions_used,
    active_packs.tokens_remaining as subscriptions_remaining
from {{ ref('rpt_summary') }} as summary_rows
left join active_packs on summary_rows.team_id = active_packs.team_id
where
    summary_rows.tokens_used <> coalesce(active_packs.tokens_used, 0)
    or summary_rows.tokens_remaining <> coalesce(active_packs.tokens_remaining, 0)
