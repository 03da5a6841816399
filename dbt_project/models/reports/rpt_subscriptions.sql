-- Subscriptions: per reported team and pack the team has held (has a ledger event on).
-- fct_team_pack_balance already zeroes remaining unless Active and expired unless Expired.
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
    cast(balances.tokens_drawn as {{ dbt.type_bigint() }}) as tokens_used,
    cast(balances.remaining_tokens as {{ dbt.type_bigint() }}) as tokens_remaining,
    cast(balances.expired_tokens as {{ dbt.type_bigint() }}) as tokens_expired,
    packs.reseller_name,
    packs.reseller_email
from {{ ref('fct_team_pack_balance') }} as balances
inner join {{ ref('report_teams') }} as teams on balances.team_id = teams.team_id
left join {{ ref('dim_pack') }} as packs on balances.subscription_id = packs.subscription_id
