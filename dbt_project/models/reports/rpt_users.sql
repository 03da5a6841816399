-- Users: per member of the team (team_members snapshot); products used in this team in
-- Past 12 months and the last usage date in this team up to D.
with user_products as (
    select distinct
        ranged.team_id,
        ranged.autodesk_id,
        products.product_name
    from {{ ref('int_range_usage') }} as ranged
    inner join {{ ref('int_time_ranges') }} as ranges on ranged.range_order = ranges.range_order
    left join {{ ref('dim_product') }} as products
        on ranged.product_line_code = products.product_line_code
    where ranges.time_range = 'Past 12 months'
),

products_used as (
    select
        team_id,
        autodesk_id,
        {{ report_sorted_join('product_name') }} as products_used
    from user_products
    group by team_id, autodesk_id
),

last_used as (
    select
        team_id,
        autodesk_id,
        max(usage_date) as last_used
    from {{ ref('fct_daily_usage') }}
    group by team_id, autodesk_id
)

select
    members.team_id,
    teams.as_of_date,
    shown.hashed_autodesk_id,
    shown.shown_autodesk_id as autodesk_id,
    shown.email,
    shown.first_name,
    shown.last_name,
    members.role,
    products.products_used,
    last_used.last_used
from {{ ref('fct_team_membership') }} as members
inner join {{ ref('int_report_teams') }} as teams on members.team_id = teams.team_id
inner join {{ ref('int_report_team_users') }} as shown
    on members.team_id = shown.team_id and members.autodesk_id = shown.autodesk_id
left join products_used as products
    on members.team_id = products.team_id and members.autodesk_id = products.autodesk_id
left join last_used
    on members.team_id = last_used.team_id and members.autodesk_id = last_used.autodesk_id
