-- User versions: per team, range, user, product and version, the distinct usage dates.
-- Counted on ids first, then the displayed identity is joined.
with days_per_version as (
    select
        team_id,
        as_of_date,
        range_order,
        time_range,
        autodesk_id,
        product_line_code,
        product_name,
        version,
        count(distinct usage_date) as days_used
    from {{ ref('report_range_usage') }}
    group by
        team_id,
        as_of_date,
        range_order,
        time_range,
        autodesk_id,
        product_line_code,
        product_name,
        version
)

select
    counted.team_id,
    counted.as_of_date,
    counted.range_order,
    counted.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    counted.product_name as product,
    counted.version,
    cast(counted.days_used as {{ dbt.type_bigint() }}) as days_used
from days_per_version as counted
inner join {{ ref('report_team_users') }} as shown
    on counted.team_id = shown.team_id and counted.autodesk_id = shown.autodesk_id
