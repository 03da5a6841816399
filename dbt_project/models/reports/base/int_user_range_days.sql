{{ month_range_reuse_config() }}
-- Days used of By user on ids: per team, range and user with use in the range, the distinct
-- usage dates (whatever the product). The dates are counted once, one column per range (see
-- macros/reports/range_columns.sql), then turned into one row per range. Incremental:
-- 'Past 30 days' is redone every build, the month ranges per team only when they no longer
-- hold (see macros/reports/month_range_reuse.sql).
{%- set tracked = incremental_with_column('month_ranges_end') %}

with
{{ month_range_reuse_ctes(tracked) }},

user_dates as (
    -- one row per team, user and date; of the teams whose month ranges are kept, only the
    -- dates of 'Past 30 days'
    select
        daily.team_id,
        daily.autodesk_id,
        daily.usage_date
    from {{ month_range_daily_rows(tracked) }} as daily
    group by daily.team_id, daily.autodesk_id, daily.usage_date
),

days_per_range as (
    select
        user_dates.team_id,
        user_dates.autodesk_id,
        {{ report_sum_per_range('1', 'user_dates.usage_date', 'days') }}
    from user_dates
    cross join {{ report_range_bounds() }} as bounds
    group by user_dates.team_id, user_dates.autodesk_id
),

counted as (
    select
        days_per_range.team_id,
        ranges.range_order,
        days_per_range.autodesk_id,
        cast(
            {{ report_range_value('days_per_range.days', 'ranges.range_order') }}
            as {{ dbt.type_bigint() }}
        ) as days_used
    {{ month_range_counted_from(tracked, 'days_per_range') }}
)

{{ month_range_rows_out(tracked, [('autodesk_id', dbt.type_string())], 'days_used') }}
