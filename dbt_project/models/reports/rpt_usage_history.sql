{{ config(materialized=on_demand_materialization()) }}
-- Usage history: every usage row of the reported team dated on or before D, with privacy applied.
-- The on-demand Usage export filters it by the requested date range. A view (DuckDB): nothing
-- is copied nightly, and the export's team and date filters reach fct_usage.
select
    charges.team_id,
    teams.as_of_date,
    charges.usage_id,
    charges.charge_ts,
    shown.hashed_autodesk_id,
    shown.shown_autodesk_id as autodesk_id,
    shown.email,
    shown.first_name,
    shown.last_name,
    teams.team_alias as team,
    'Flex' as offering,
    products.product_name as product,
    charges.version,
    products.usage_category as usage_type,
    charges.usage_date as day_used,
    charges.tokens as tokens_used
from {{ ref('fct_usage') }} as charges
inner join {{ ref('int_report_teams') }} as teams on charges.team_id = teams.team_id
inner join {{ ref('int_report_team_users') }} as shown
    on charges.team_id = shown.team_id and charges.autodesk_id = shown.autodesk_id
left join {{ ref('dim_product') }} as products
    on charges.product_line_code = products.product_line_code
where charges.usage_date <= {{ as_of_date() }}
