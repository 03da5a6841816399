-- No charge draws more than the pack holds (a draw inside a period of
-- negative re-derived balance), nor from a pack that its team does not hold
-- or that is not active on the charge's usage_date (charges of the latest
-- build: see int_audited_charges).
select
    team_id,
    subscription_id,
    'overdrawn' as problem
from {{ ref('int_pack_balance_periods') }}
where balance_sign < 0 and draws > 0
union all
select
    e.team_id,
    e.subscription_id,
    'not an active pack of the team' as problem
from {{ ref('int_drawdown_entries') }} as e
left join {{ ref('int_team_pack_ledger') }} as l
    on e.team_id = l.team_id and e.subscription_id = l.subscription_id
where
    e.entry_kind = 'draw'
    and e.built_seq = (select max(b.built_seq) from {{ ref('int_drawdown_entries') }} as b)
    and (l.team_id is null or e.usage_date < l.start_date or e.usage_date > l.end_date)
