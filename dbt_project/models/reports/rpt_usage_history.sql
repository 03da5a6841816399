-- Usage history: every usage row of the reported team dated on or before D, with privacy applied.
-- The on-demand Usage export filters it by the requested date range.
select
    usage.team_id,
    teams.as_of_date,
    usage.usage_id,
    usage.charge_ts,
    users.hashed_autodesk_id,
    users.shown_autodesk_id as autodesk_id,
    users.email,
    users.first_name,
    users.last_name,
    teams.team_alias as team,
    'Flex' as offering,
    products.product_name as product,
    usage.version,
    products.usage_category as usage_type,
    usage.usage_date as day_used,
    usage.tokens as tokens_used
from {{ ref('fct_usage') }} as usage
inner join {{ ref('report_teams') }} as teams on usage.team_id = teams.team_id
inner join {{ ref('report_team_users') }} as users
    on usage.team_id = users.team_id and usage.autodesk_id = users.autodesk_id
left join {{ ref('dim_product') }} as products
    on usage.product_line_code = products.product_line_code
where usage.usage_date <= {{ as_of_date() }}
