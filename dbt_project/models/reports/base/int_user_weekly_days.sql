-- User weekly days on ids: per team, range, user, product code and Monday-starting week, the
-- distinct usage dates inside the range (the week may start before the range); weeks without
-- use omitted. Counted per date band, summed over the bands of the range. Narrow on purpose:
-- rpt_user_weekly_days joins the displayed names on read.
with band_weeks as (
    select
        team_id,
        band_start,
        autodesk_id,
        product_line_code,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_starting,
        count(distinct usage_date) as days_used
    from {{ report_band_daily_usage() }} as daily
    group by
        team_id,
        band_start,
        autodesk_id,
        product_line_code,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date)
)

select
    band_weeks.team_id,
    ranges.range_order,
    band_weeks.autodesk_id,
    band_weeks.product_line_code,
    band_weeks.week_starting,
    cast(sum(band_weeks.days_used) as {{ dbt.type_bigint() }}) as days_used
from band_weeks
inner join {{ ref('int_range_bands') }} as ranges on band_weeks.band_start = ranges.band_start
group by
    band_weeks.team_id,
    ranges.range_order,
    band_weeks.autodesk_id,
    band_weeks.product_line_code,
    band_weeks.week_starting
