{{
    config(
        materialized=incremental_materialization(),
        unique_key=['team_id', 'range_order'],
        incremental_strategy='replace_keys',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_marker_rows('days_used = 0') }}",
    )
}}
-- User weekly days on ids: per team, range, user, product code and Monday-starting week, the
-- distinct usage dates inside the range (the week may start before the range); weeks without
-- use omitted. The dates are counted per week once, one column per range (see
-- macros/reports/range_columns.sql), then turned into one row per range. Narrow on purpose:
-- rpt_user_weekly_days joins the displayed names on read.
{#-
    Incremental, per team and range. A build always redoes 'Past 30 days'. The month ranges
    end on the last day of the last completed month, so the previous build's rows of them
    still hold while that day is the same, the usage history is at most one build further on,
    and no charge it rewrote since (its day, or the day of the row it replaced) lies on or
    before that day. Then only teams without rows (not reported before) get their month
    ranges computed, and teams no longer reported lose theirs; otherwise every range of every
    team is redone. Each key replaced gets a marker row (days_used = 0), which the post-hook
    deletes, so a key left without use is emptied.
#}
{%- set tracked = incremental_with_column('month_ranges_end') %}

with
input_builds as (
    -- the build of the usage history this build reflects
    select coalesce(max(built_seq), 0) as usage_seq
    from {{ ref('stg_usage_history') }}
),

{% if tracked %}
    previous_build as (
        select
            max(built_usage_seq) as seq,
            max(month_ranges_end) as month_end
        from {{ this }}
    ),

    months_kept as (
        -- one row when the previous build's month-range rows still hold
        select 1 as kept
        from previous_build as p
        cross join input_builds as n
        cross join {{ report_range_bounds() }} as bounds
        where
            p.month_end = bounds.end_2
            and n.usage_seq in (p.seq, p.seq + 1)
            and not exists (
                select 1
                from {{ ref('stg_usage_history') }} as h
                where
                    h.built_seq > p.seq
                    and (h.usage_date <= bounds.end_2 or h.replaced_usage_date <= bounds.end_2)
            )
    ),

    kept_teams as (
        -- reported now and before (the previous build holds rows of them)
        select distinct prior.team_id
        from {{ this }} as prior
        inner join {{ ref('int_report_teams') }} as teams on prior.team_id = teams.team_id
        where exists (select 1 from months_kept)
    ),
{% endif %}

user_dates as (
    -- the daily rows are per version: one row per team, user, product and date; of the
    -- teams whose month ranges are kept, only the dates of 'Past 30 days'
    select
        daily.team_id,
        daily.autodesk_id,
        daily.product_line_code,
        daily.usage_date
    from {{ report_daily_usage_in_span() }} as daily
    {% if tracked %}
        cross join {{ report_range_bounds() }} as bounds
        left join kept_teams as kept on daily.team_id = kept.team_id
        where daily.usage_date >= bounds.start_1 or kept.team_id is null
    {% endif %}
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
    from weeks
    cross join {{ ref('int_time_ranges') }} as ranges
    {% if tracked %}
        left join kept_teams as kept on weeks.team_id = kept.team_id
    {% endif %}
    where
        {{ report_range_value('weeks.days', 'ranges.range_order') }} > 0
    {% if tracked %}
        and (ranges.range_order = 1 or kept.team_id is null)
    {% endif %}
),

rows_out as (
    select * from counted
    {% if is_incremental() %}
        union all
        -- a marker per key this build replaces: 'Past 30 days' of every team, and every
        -- range of the teams whose month ranges are not kept
        select distinct
            prior.team_id,
            prior.range_order,
            cast(null as {{ dbt.type_string() }}) as autodesk_id,
            cast(null as {{ dbt.type_string() }}) as product_line_code,
            cast(null as date) as week_starting,
            cast(0 as {{ dbt.type_bigint() }}) as days_used
        from {{ this }} as prior
        {% if tracked %}
            left join kept_teams as kept on prior.team_id = kept.team_id
            where prior.range_order = 1 or kept.team_id is null
        {% endif %}
    {% endif %}
)

select
    rows_out.*,
    n.usage_seq as built_usage_seq,
    bounds.end_2 as month_ranges_end
from rows_out
cross join input_builds as n
cross join {{ report_range_bounds() }} as bounds
