{{ month_range_reuse_config() }}
-- Usage of the reported teams per time range, user, product and version. The daily usage in
-- the span of the ranges is read once and summed per range (one column each, see
-- macros/reports/range_columns.sql); each user, product and version then gives one row per
-- range it was used in. days_used counts daily rows, which are unique per team, user,
-- product, version and date. Incremental: 'Past 30 days' is redone every build, the month
-- ranges per team only when they no longer hold (see macros/reports/month_range_reuse.sql).
{%- set tracked = incremental_with_column('month_ranges_end') %}

with
{{ month_range_reuse_ctes(tracked) }},

usage_per_range as (
    -- of the teams whose month ranges are kept, only the rows of 'Past 30 days'
    select
        daily.team_id,
        daily.autodesk_id,
        daily.product_line_code,
        daily.version,
        {{ report_sum_per_range('daily.tokens', 'daily.usage_date', 'tokens') }},
        {{ report_sum_per_range('1', 'daily.usage_date', 'days') }}
    from {{ month_range_daily_rows(tracked) }} as daily
    cross join {{ report_range_bounds() }} as bounds
    group by daily.team_id, daily.autodesk_id, daily.product_line_code, daily.version
),

counted as (
    select
        usage_per_range.team_id,
        ranges.range_order,
        usage_per_range.autodesk_id,
        usage_per_range.product_line_code,
        usage_per_range.version,
        cast(
            {{ report_range_value('usage_per_range.tokens', 'ranges.range_order') }}
            as {{ dbt.type_bigint() }}
        ) as tokens,
        cast(
            {{ report_range_value('usage_per_range.days', 'ranges.range_order') }}
            as {{ dbt.type_bigint() }}
        ) as days_used
    {{ month_range_counted_from(tracked, 'usage_per_range') }}
)

{{ month_range_rows_out(tracked, [
    ('autodesk_id', dbt.type_string()),
    ('product_line_code', dbt.type_string()),
    ('version', dbt.type_string()),
    ('tokens', dbt.type_bigint()),
], 'days_used') }}
