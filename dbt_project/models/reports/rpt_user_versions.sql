-- User versions: per team, range, user, product and version, the distinct usage dates.
select
    usage.team_id,
    usage.as_of_date,
    usage.range_order,
    usage.time_range,
    users.hashed_autodesk_id,
    users.user_name,
    usage.product_name as product,
    usage.version,
    cast(count(distinct usage.usage_date) as {{ dbt.type_bigint() }}) as days_used
from {{ ref('report_range_usage') }} as usage
inner join {{ ref('report_team_users') }} as users
    on usage.team_id = users.team_id and usage.autodesk_id = users.autodesk_id
group by
    usage.team_id,
    usage.as_of_date,
    usage.range_order,
    usage.time_range,
    users.hashed_autodesk_id,
    users.user_name,
    usage.product_line_code,
    usage.product_name,
    usage.version
