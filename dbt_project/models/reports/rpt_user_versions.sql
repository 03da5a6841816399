-- User versions: per team, range, user, product and version, the distinct usage dates.
select
    ranged.team_id,
    ranged.as_of_date,
    ranged.range_order,
    ranged.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    ranged.product_name as product,
    ranged.version,
    cast(count(distinct ranged.usage_date) as {{ dbt.type_bigint() }}) as days_used
from {{ ref('report_range_usage') }} as ranged
inner join {{ ref('report_team_users') }} as shown
    on ranged.team_id = shown.team_id and ranged.autodesk_id = shown.autodesk_id
group by
    ranged.team_id,
    ranged.as_of_date,
    ranged.range_order,
    ranged.time_range,
    shown.hashed_autodesk_id,
    shown.user_name,
    ranged.product_line_code,
    ranged.product_name,
    ranged.version
