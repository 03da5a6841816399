-- Every usage row dated on or before D with the part of its tokens the
-- drawdown could allocate to packs; the rest is unallocated.
with allocated as (
    select
        usage_id,
        sum(tokens_drawn) as allocated_tokens
    from {{ ref('int_usage_allocation') }}
    group by usage_id
)

select
    u.usage_id,
    u.team_id,
    u.autodesk_id,
    u.product_line_code,
    u.version,
    u.usage_date,
    u.charge_ts,
    u.tokens,
    cast(coalesce(a.allocated_tokens, 0) as {{ dbt.type_bigint() }}) as allocated_tokens,
    cast(u.tokens - coalesce(a.allocated_tokens, 0) as {{ dbt.type_bigint() }})
        as unallocated_tokens,
    u.delivery_date
from {{ ref('stg_usage') }} as u
left join allocated as a
    on u.usage_id = a.usage_id
