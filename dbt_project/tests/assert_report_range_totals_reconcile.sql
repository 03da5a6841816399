{{ config(meta={'dagster': {'ref': {'name': 'rpt_time_ranges'}}}) }}
-- Per team and time range, the total tokens agree across Time ranges, By product, By user and
-- (for ranges within the last 365 days) Tokens by day; product and user counts agree too.
-- By product or By user rows of a team and range that Time ranges lacks are returned as well.
with by_product as (
    select
        team_id,
        range_order,
        sum(total_tokens_used) as tokens,
        count(*) as products
    from {{ ref('rpt_by_product') }}
    group by all
),

by_user as (
    select
        team_id,
        range_order,
        sum(total_tokens_used) as tokens,
        count(*) as user_count
    from {{ ref('rpt_by_user') }}
    group by all
),

by_day as (
    select
        ranges.team_id,
        ranges.range_order,
        sum(by_date.tokens_used) as tokens
    from {{ ref('rpt_time_ranges') }} as ranges
    inner join {{ ref('rpt_tokens_by_day') }} as by_date
        on
            ranges.team_id = by_date.team_id
            and by_date.usage_date between ranges.start_date and ranges.end_date
    where ranges.start_date >= {{ date_add_days('ranges.as_of_date', -364) }}
    group by all
)

select
    ranges.team_id,
    ranges.range_order,
    ranges.total_tokens_used,
    by_product.tokens as by_product_tokens,
    by_user.tokens as by_user_tokens,
    by_day.tokens as by_day_tokens
from {{ ref('rpt_time_ranges') }} as ranges
left join by_product
    on ranges.team_id = by_product.team_id and ranges.range_order = by_product.range_order
left join by_user
    on ranges.team_id = by_user.team_id and ranges.range_order = by_user.range_order
left join by_day
    on ranges.team_id = by_day.team_id and ranges.range_order = by_day.range_order
where
    ranges.total_tokens_used <> coalesce(by_product.tokens, 0)
    or ranges.total_tokens_used <> coalesce(by_user.tokens, 0)
    or ranges.products_used <> coalesce(by_product.products, 0)
    or ranges.total_users <> coalesce(by_user.user_count, 0)
    or (
        ranges.start_date >= {{ date_add_days('ranges.as_of_date', -364) }}
        and ranges.total_tokens_used <> coalesce(by_day.tokens, 0)
    )
union all
select
    orphans.team_id,
    orphans.range_order,
    null as total_tokens_used,
    orphan_products.tokens as by_product_tokens,
    orphan_users.tokens as by_user_tokens,
    null as by_day_tokens
from (
    select
        team_id,
        range_order
    from by_product
    union
    select
        team_id,
        range_order
    from by_user
) as orphans
left join {{ ref('rpt_time_ranges') }} as ranges
    on orphans.team_id = ranges.team_id and orphans.range_order = ranges.range_order
left join by_product as orphan_products
    on
        orphans.team_id = orphan_products.team_id
        and orphans.range_order = orphan_products.range_order
left join by_user as orphan_users
    on orphans.team_id = orphan_users.team_id and orphans.range_order = orphan_users.range_order
where ranges.team_id is null
