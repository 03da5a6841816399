-- Products as of D, with the latest valid version of those the newest snapshot lacks.
select
    product_line_code,
    product_name,
    tokens_per_day,
    usage_category,
    from_newest_snapshot
from {{ ref('stg_products') }}
