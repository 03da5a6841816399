{{
    config(
        materialized=incremental_materialization(),
        unique_key='usage_date',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_marker_rows('usage_rows = 0') }}",
    )
}}
{#-
    Usage per team, user, product, version and day.

    Incremental (keyed on the day): a build redoes the days the usage history rewrote since
    the previous one (each rewritten row's day, and the day of the row it replaced) and the
    days D moved over; a day left empty is deleted through a marker row. When the history was
    rebuilt more than once in between, or from scratch, or the table predates built_usage_seq,
    every day is redone.
-#}
{%- set tracked = incremental_with_column('built_usage_seq') -%}

with
input_builds as (
    -- the build of the usage history this build reflects
    select coalesce(max(built_seq), 0) as usage_seq
    from {{ ref('stg_usage_history') }}
),

{% if is_incremental() %}
    previous_build as (
        -- -2 is no build the history can be at: every day is redone
        select
            coalesce({{ 'max(built_usage_seq)' if tracked else '-2' }}, 0) as seq,
            coalesce(max(usage_date), cast('1900-01-01' as date)) as last_date
        from {{ this }}
    ),

    changed_dates as (
        select h.usage_date
        from {{ ref('stg_usage_history') }} as h
        cross join previous_build as p
        where h.built_seq > p.seq and h.usage_date is not null
        union
        select h.replaced_usage_date as usage_date
        from {{ ref('stg_usage_history') }} as h
        cross join previous_build as p
        where h.built_seq > p.seq and h.replaced_usage_date is not null
        union
        {{ keys_moved_over_by_as_of('usage_date') }}
        union
        -- the rewrites of a build in between, or of a rebuild from scratch, are not all known
        select prior.usage_date
        from {{ this }} as prior
        cross join previous_build as p
        cross join input_builds as n
        where n.usage_seq not in (p.seq, p.seq + 1)
        union
        select u.usage_date
        from {{ ref('stg_usage') }} as u
        cross join previous_build as p
        cross join input_builds as n
        where n.usage_seq not in (p.seq, p.seq + 1)
    ),
{% endif %}

daily as (
    select
        team_id,
        autodesk_id,
        product_line_code,
        version,
        usage_date,
        cast(sum(tokens) as {{ dbt.type_bigint() }}) as tokens,
        cast(count(*) as {{ dbt.type_bigint() }}) as usage_rows
    from {{ ref('stg_usage') }}
    {% if is_incremental() %}
        where usage_date in (select c.usage_date from changed_dates as c)
    {% endif %}
    group by team_id, autodesk_id, product_line_code, version, usage_date
),

rows_out as (
    select * from daily
    {% if is_incremental() %}
        union all
        select
            cast(null as {{ dbt.type_string() }}) as team_id,
            cast(null as {{ dbt.type_string() }}) as autodesk_id,
            cast(null as {{ dbt.type_string() }}) as product_line_code,
            cast(null as {{ dbt.type_string() }}) as version,
            c.usage_date,
            cast(0 as {{ dbt.type_bigint() }}) as tokens,
            cast(0 as {{ dbt.type_bigint() }}) as usage_rows
        from changed_dates as c
        where not exists (select 1 from daily as d where d.usage_date = c.usage_date)
    {% endif %}
)

select
    rows_out.*,
    n.usage_seq as built_usage_seq,
    {{ build_started_at() }} as built_at
from rows_out
cross join input_builds as n
