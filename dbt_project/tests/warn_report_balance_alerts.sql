{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'rpt_balances'}}}) }}
-- Warning: the teams with Balances alerts, one row per alert with its number of teams and
-- their ids (code-point sorted).
with team_alerts as (
    select
        team_id,
        1 as alert_order,
        'low balance' as alert
    from {{ ref('rpt_balances') }}
    where low_balance
    union all
    select
        team_id,
        2 as alert_order,
        'tokens expiring within 90 days' as alert
    from {{ ref('rpt_balances') }}
    where tokens_expiring_within_90_days > 0
    union all
    select
        team_id,
        3 as alert_order,
        'run-out within 90 days' as alert
    from {{ ref('rpt_balances') }}
    where run_out_date <= {{ date_add_days(as_of_date(), 90) }}
    union all
    select
        team_id,
        4 as alert_order,
        'usage not covered by a pack' as alert
    from {{ ref('rpt_balances') }}
    where unallocated_tokens_past_30_days > 0
)

select
    alert_order,
    alert,
    count(*) as teams,
    {{ report_sorted_join('team_id') }} as team_ids
from team_alerts
group by all
