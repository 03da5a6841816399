-- Subscriptions: per reported team and pack the team has held (has a ledger event on).
-- fct_team_pack_balance already zeroes remaining unless Active and expired unless Expired.
-- Received / sent / adjustments split the team's token events on the pack (up to D) by type.
with flows as (
    select
        team_id,
        subscription_id,
        sum(
            case when event_type in ('purchase', 'move_in', 'merge_in') then tokens else 0 end
        ) as tokens_received,
        -sum(case when event_type in ('move_out', 'merge_out') then tokens else 0 end)
            as tokens_sent,
        sum(case when event_type = 'adjustment' then tokens else 0 end) as adjustments
    from {{ ref('fct_token_ledger') }}
    group by team_id, subscription_id
)

select
    balances.team_id,
    teams.as_of_date,
    balances.subscription_id,
    packs.contract_number,
    packs.offering_name as offering,
    packs.term,
    packs.tokens_purchased,
    packs.start_date,
    packs.end_date,
    balances.status,
    cast(flows.tokens_received as {{ dbt.type_bigint() }}) as tokens_received,
    cast(flows.tokens_sent as {{ dbt.type_bigint() }}) as tokens_sent,
    cast(flows.adjustments as {{ dbt.type_bigint() }}) as adjustments,
    cast(balances.tokens_drawn as {{ dbt.type_bigint() }}) as tokens_used,
    cast(balances.remaining_tokens as {{ dbt.type_bigint() }}) as tokens_remaining,
    cast(balances.expired_tokens as {{ dbt.type_bigint() }}) as tokens_expired,
    packs.reseller_name,
    packs.reseller_email
from {{ ref('fct_team_pack_balance') }} as balances
inner join {{ ref('int_report_teams') }} as teams on balances.team_id = teams.team_id
left join {{ ref('dim_pack') }} as packs on balances.subscription_id = packs.subscription_id
inner join flows
    on balances.team_id = flows.team_id and balances.subscription_id = flows.subscription_id
