-- Per team, range and product, the users of the five bands add up to By product's total users,
-- and Product users lists exactly those users with the same tokens in total.
with distribution as (
    select
        team_id,
        range_order,
        product,
        sum(users) as user_count
    from {{ ref('rpt_token_distribution') }}
    group by all
),

product_users as (
    select
        team_id,
        range_order,
        product,
        count(*) as user_count,
        sum(total_tokens_used) as tokens
    from {{ ref('rpt_product_users') }}
    group by all
)

select
    by_product.team_id,
    by_product.range_order,
    by_product.product,
    by_product.total_users,
    distribution.user_count as distribution_users,
    product_users.user_count as product_users
from {{ ref('rpt_by_product') }} as by_product
left join distribution
    on
        by_product.team_id = distribution.team_id
        and by_product.range_order = distribution.range_order
        and by_product.product = distribution.product
left join product_users
    on
        by_product.team_id = product_users.team_id
        and by_product.range_order = product_users.range_order
        and by_product.product = product_users.product
where
    distribution.user_count is null
    or product_users.user_count is null
    or distribution.user_count <> by_product.total_users
    or product_users.user_count <> by_product.total_users
    or product_users.tokens <> by_product.total_tokens_used
