-- No charge draws more than the bucket holds, nor from a bucket that is not
-- active on the charge's usage_date or not held by the charge's team
-- (charges of the latest build; see int_bucket_charge_balances).
select
    usage_id,
    subscription_id,
    'overdrawn' as problem
from {{ ref('int_bucket_charge_balances') }} as balances
where tokens_drawn > 0 and balance_after < 0
union all
select
    alloc.usage_id,
    alloc.subscription_id,
    'not an active bucket of the team' as problem
from {{ ref('int_usage_allocation') }} as alloc
inner join ({{ latest_build_charges() }}) as checked
    on alloc.usage_id = checked.usage_id
left join {{ ref('int_bucket_charge_balances') }} as i
    on
        alloc.usage_id = i.usage_id
        and alloc.subscription_id = i.subscription_id
        and alloc.team_id = i.team_id
where i.usage_id is null
