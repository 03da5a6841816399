select
    product_line_code,
    product_name,
    tokens_per_day,
    usage_category
from {{ ref('stg_products') }}
