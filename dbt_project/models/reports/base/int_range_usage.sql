-- Usage of the reported teams per time range, user, product and version. The daily usage in
-- the span of the ranges is read once and summed per range (one column each, see
-- macros/reports/range_columns.sql); each user, product and version then gives one row per
-- range it was used in. days_used counts daily rows, which are unique per team, user,
-- product, version and date.
with usage_per_range as (
    select
        daily.team_id,
        daily.autodesk_id,
        daily.product_line_code,
        daily.version,
        {{ report_sum_per_range('daily.tokens', 'daily.usage_date', 'tokens') }},
        {{ report_sum_per_range('1', 'daily.usage_date', 'days') }}
    from {{ report_daily_usage_in_span() }} as daily
    cross join {{ report_range_bounds() }} as bounds
    group by daily.team_id, daily.autodesk_id, daily.product_line_code, daily.version
)

select
    used.team_id,
    ranges.range_order,
    used.autodesk_id,
    used.product_line_code,
    used.version,
    cast({{ report_range_value('used.tokens', 'ranges.range_order') }} as {{ dbt.type_bigint() }})
        as tokens,
    cast({{ report_range_value('used.days', 'ranges.range_order') }} as {{ dbt.type_bigint() }})
        as days_used
from usage_per_range as used
cross join {{ ref('int_time_ranges') }} as ranges
where {{ report_range_value('used.days', 'ranges.range_order') }} > 0
