-- User weekly days: per team, range, user, product and Monday-starting week, the distinct
-- usage dates inside the range (the week may start before the range); weeks without use omitted.
-- Counted on ids first, then the displayed identity is joined.
with weekly as (
    select
        team_id,
        as_of_date,
        range_order,
        time_range,
        autodesk_id,
        product_line_code,
        product_name,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_starting,
        usage_date
    from {{ ref('report_range_usage') }}
),

days_per_week as (
    select
        team_id,
        as_of_date,
        range_order,
        time_range,
        autodesk_id,
        product_line_code,
        product_name,
        week_starting,
        count(distinct usage_date) as days_used
    from weekly
    group by
        team_id,
        as_of_date,
        range_order,
        time_range,
        autodesk_id,
        product_line_code,
        product_name,
        week_starting
)

select
    counted.team_id,
    counted.as_of_date,
    counted.range_order,
    counted.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    counted.product_name as product,
    counted.week_starting,
    cast(counted.days_used as {{ dbt.type_bigint() }}) as days_used
from days_per_week as counted
inner join {{ ref('report_team_users') }} as shown
    on counted.team_id = shown.team_id and counted.autodesk_id = shown.autodesk_id
