{{ config(materialized=staging_materialization()) }}

-- Usage charges as of D: latest delivery per usage_id, charges dated after D dropped.
select
    usage_id,
    team_id,
    autodesk_id,
    product_line_code,
    version,
    usage_date,
    charge_ts,
    tokens,
    delivery_date
from {{ ref('stg_usage_history') }}
where is_current and usage_date <= {{ as_of_date() }}
