-- Each charge's allocation rows add up to its allocated tokens, and
-- allocated + unallocated = tokens with neither part negative.
with allocation_totals as (
    select
        usage_id,
        sum(tokens_drawn) as tokens_drawn
    from {{ ref('fct_usage_allocation') }}
    group by usage_id
)

select
    u.usage_id,
    u.tokens,
    u.allocated_tokens,
    u.unallocated_tokens,
    coalesce(a.tokens_drawn, 0) as allocation_rows_total
from {{ ref('fct_usage') }} as u
left join allocation_totals as a
    on u.usage_id = a.usage_id
where
    u.allocated_tokens <> coalesce(a.tokens_drawn, 0)
    or u.allocated_tokens + u.unallocated_tokens <> u.tokens
    or u.allocated_tokens < 0
    or u.unallocated_tokens < 0
