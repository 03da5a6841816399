{#-
    Incremental range models (int_user_weekly_days, int_user_range_days, int_range_usage)
    redo 'Past 30 days' every build, and keep the month ranges' rows per team while they
    still hold; int_team_month_usage likewise redoes the month of D and keeps the complete
    months. The month ranges end on the last day of the last completed month; their rows
    hold while that day is the same, the usage history is at most one build further on, and
    no charge it rewrote since (its day, or the day of the row it replaced) lies on or
    before that day. Then only teams without rows (not reported before) get their month
    ranges computed, and teams no longer reported lose theirs; otherwise every key of every
    team is redone. Each key (team_id and `key`: range_order, or month) replaced gets a
    marker row (the measure 0), which the model's post-hook deletes, so a key left without
    use is emptied. Rows carry the history build they were computed from (built_usage_seq)
    and the month ranges' last day (month_ranges_end); a table without them is rebuilt in
    full. `redone` is the condition on a previous row (`prior`) of the keys redone every
    build; `recent_from` the first day of the daily rows those keys read.
-#}

{% macro month_range_reuse_config(key='range_order', measure='days_used') -%}
    {#- The config of such a model: incremental per (team_id, key), the marker rows
        (measure = 0) deleted after the insert. -#}
    {{ config(
        materialized=incremental_materialization(),
        unique_key=['team_id', key],
        incremental_strategy='replace_keys',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_marker_rows('" ~ measure ~ " = 0') }}",
    ) }}
{%- endmacro %}


{% macro month_range_reuse_ctes(tracked) -%}
    {#- CTEs: input_builds; and when the previous build is tracked, kept_teams (the teams
        whose month-range rows stay), with the CTEs it reads. -#}
    input_builds as (
        -- the build of the usage history this build reflects
        select coalesce(max(built_seq), 0) as usage_seq
        from {{ ref('stg_usage_history') }}
    )
    {%- if tracked %},

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
        )
    {%- endif %}
{%- endmacro %}


{% macro month_range_markers(tracked, columns, measure, key, redone) -%}
    {#- Union branch: a marker row per key this build replaces (the keys redone of every
        team, every key of the teams not kept); `columns` are the (name, type) pairs
        between the key and the measure, set to null. -#}
    select distinct
        prior.team_id,
        prior.{{ key }},
        {%- for name, type in columns %}
            cast(null as {{ type }}) as {{ name }},
        {%- endfor %}
        cast(0 as {{ dbt.type_bigint() }}) as {{ measure }}
    from {{ this }} as prior
    {%- if tracked %}
        left join kept_teams as kept on prior.team_id = kept.team_id
        where {{ redone }} or kept.team_id is null
    {%- endif %}
{%- endmacro %}


{% macro month_range_daily_rows(tracked, recent_from='bounds.start_1') -%}
    {#- A derived table: the daily rows in the ranges' span (report_daily_usage_in_span) that a
        build reads; of the teams whose month ranges are kept, only those dated from
        `recent_from` ('Past 30 days' by default). -#}
    (
        select daily.*
        from {{ report_daily_usage_in_span() }} as daily
        {%- if tracked %}
            cross join {{ report_range_bounds() }} as bounds
            left join kept_teams as kept on daily.team_id = kept.team_id
            where daily.usage_date >= {{ recent_from }} or kept.team_id is null
        {%- endif %}
    )
{%- endmacro %}


{% macro month_range_counted_from(tracked, rows) -%}
    {#- FROM and WHERE of a model's `counted` CTE: each row of the CTE `rows` (with its
        per-range `days` columns) once per range it has days in; of the teams whose month
        ranges are kept, 'Past 30 days' only. -#}
    from {{ rows }}
    cross join {{ ref('int_time_ranges') }} as ranges
    {%- if tracked %}
        left join kept_teams as kept on {{ rows }}.team_id = kept.team_id
    {%- endif %}
    where
        {{ report_range_value(rows ~ '.days', 'ranges.range_order') }} > 0
    {%- if tracked %}
        and (ranges.range_order = 1 or kept.team_id is null)
    {%- endif %}
{%- endmacro %}


{% macro month_range_rows_out(
    tracked, columns, measure, key='range_order', redone='prior.range_order = 1'
) -%}
    {#- The model's final select from its `counted` CTE: those rows and the markers, with
        the bookkeeping columns built_usage_seq and month_ranges_end. -#}
    select
        rows_out.*,
        n.usage_seq as built_usage_seq,
        bounds.end_2 as month_ranges_end
    from (
        select * from counted
        {%- if is_incremental() %}
            union all
            {{ month_range_markers(tracked, columns, measure, key, redone) }}
        {%- endif %}
    ) as rows_out
    cross join input_builds as n
    cross join {{ report_range_bounds() }} as bounds
{%- endmacro %}
