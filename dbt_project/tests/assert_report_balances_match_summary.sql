{{ config(meta={'dagster': {'ref': {'name': 'rpt_balances'}}}) }}
-- Balances and Summary agree where they overlap: one Balances row per Summary row, with
-- tokens_available = Summary tokens_remaining and the same tokens_used.
select
    coalesce(summary_rows.team_id, balances.team_id) as team_id,
    summary_rows.tokens_remaining,
    balances.tokens_available,
    summary_rows.tokens_used as summary_tokens_used,
    balances.tokens_used as balances_tokens_used
from {{ ref('rpt_summary') }} as summary_rows
full outer join {{ ref('rpt_balances') }} as balances
    on
        summary_rows.team_id = balances.team_id
        and summary_rows.as_of_date = balances.as_of_date
where
    summary_rows.team_id is null
    or balances.team_id is null
    or summary_rows.tokens_remaining <> balances.tokens_available
    or summary_rows.tokens_used <> balances.tokens_used
