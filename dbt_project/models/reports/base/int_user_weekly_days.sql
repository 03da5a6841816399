{{ month_range_reuse_config() }}
-- User weekly days on ids: per team, range, user, product code and Monday-starting week, the
-- distinct usage dates inside the range (the week may start before the range); weeks without
-- use omitted. The dates are counted per week once, one column per range (see
-- macros/reports/range_columns.sql), then turned into one row per range. Narrow on purpose:
-- rpt_user_weekly_days joins the displayed names on read. Incremental: 'Past 30 days' is
-- redone every build, the month ranges per team only when they no longer hold (see
-- macros/reports/month_range_reuse.sql).
{%- set tracked = incremental_with_column('month_ranges_end') %}

with
{{ month_range_reuse_ctes(tracked) }},

user_dates as (
    -- the daily rows are per version: one row per team, user, product and date; of the
    -- teams whose month ranges are kept, only the dates of 'Past 30 days'
    select
        daily.team_id,
        daily.autodesk_id,
        daily.product_line_code,
        daily.usage_date
    from {{ month_range_daily_rows(tracked) }} as daily
    group by daily.team_id, daily.autodesk_id, daily.product_line_code, daily.usage_date
),

weeks as (
    select
        user_dates.team_id,
        user_dates.autodesk_id,
        user_dates.product_line_code,
        cast({{ dbt.date_trunc('week', 'user_dates.usage_date') }} as date) as week_starting,
        {{ report_sum_per_range('1', 'user_dates.usage_date', 'days') }}
    from user_dates
    cross join {{ report_range_bounds() }} as bounds
    group by
        user_dates.team_id,
        user_dates.autodesk_id,
        user_dates.product_line_code,
        cast({{ dbt.date_trunc('week', 'user_dates.usage_date') }} as date)
),

counted as (
    select
        weeks.team_id,
        ranges.range_order,
        weeks.autodesk_id,
        weeks.product_line_code,
        weeks.week_starting,
        cast({{ report_range_value('weeks.days', 'ranges.range_order') }} as {{ dbt.type_bigint() }})
            as days_used
    {{ month_range_counted_from(tracked, 'weeks') }}
)

{{ month_range_rows_out(tracked, [
    ('autodesk_id', dbt.type_string()),
    ('product_line_code', dbt.type_string()),
    ('week_starting', 'date'),
], 'days_used') }}
