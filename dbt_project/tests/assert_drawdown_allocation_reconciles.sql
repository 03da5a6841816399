-- Every allocation row belongs to a charge of fct_usage, each charge's allocation rows add
-- up to its allocated tokens, and allocated + unallocated = tokens with neither part
-- negative. Returns one row per charge that breaks a rule; charge_found is false for
-- allocation rows whose usage_id is no charge of fct_usage.
with allocation_totals as (
    select
        usage_id,
        sum(tokens_drawn) as tokens_drawn
    from {{ ref('fct_usage_allocation') }}
    group by usage_id
)

select
    coalesce(u.usage_id, a.usage_id) as usage_id,
    u.usage_id is not null as charge_found,
    u.tokens,
    u.allocated_tokens,
    u.unallocated_tokens,
    coalesce(a.tokens_drawn, 0) as allocation_rows_total
from {{ ref('fct_usage') }} as u
full outer join allocation_totals as a
    on u.usage_id = a.usage_id
where
    u.usage_id is null
    or u.allocated_tokens <> coalesce(a.tokens_drawn, 0)
    or u.allocated_tokens + u.unallocated_tokens <> u.tokens
    or u.allocated_tokens < 0
    or u.unallocated_tokens < 0
