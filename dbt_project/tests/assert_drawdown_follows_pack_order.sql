-- Greedy order: once a charge has finished with a bucket that still holds
-- tokens, it must not draw from a later bucket nor leave tokens unallocated.
with open_buckets as (
    select
        usage_id,
        min(bucket_rank) as first_open_rank
    from {{ ref('int_bucket_charge_balances') }} as balances
    where balance_after > 0
    group by usage_id
)

select
    o.usage_id,
    o.first_open_rank
from open_buckets as o
inner join {{ ref('fct_usage') }} as u
    on o.usage_id = u.usage_id
where
    u.unallocated_tokens > 0
    or exists (
        select 1
        from {{ ref('int_usage_allocation') }} as a
        where a.usage_id = o.usage_id and a.bucket_rank > o.first_open_rank
    )
