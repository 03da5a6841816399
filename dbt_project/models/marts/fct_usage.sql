{{
    config(
        materialized=incremental_materialization(),
        unique_key='usage_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_marker_rows('team_id is null') }}",
    )
}}
{#-
    Every usage row dated on or before D with the part of its tokens the drawdown could
    allocate to packs; the rest is unallocated.

    Incremental (keyed on usage_id): a build redoes the charges the usage history rewrote
    since the previous one, the charges the drawdown replayed since (their allocation may have
    moved) and the charges D moved over; a charge no longer reported is deleted through a
    marker row. When either model was rebuilt from scratch, or the table predates the
    bookkeeping columns, every charge is redone.
-#}
{%- set tracked = incremental_with_column('built_drawdown_seq') -%}

with
input_builds as (
    -- the builds of the usage history and the drawdown this build reflects
    select
        (select coalesce(max(h.built_seq), 0) from {{ ref('stg_usage_history') }} as h)
            as usage_seq,
        (select coalesce(max(e.built_seq), 0) from {{ ref('int_drawdown_entries') }} as e)
            as drawdown_seq
),

{% if is_incremental() %}
    previous_build as (
        -- -2 is no build the models can be at: every charge is redone
        select
            coalesce({{ 'max(built_usage_seq)' if tracked else '-2' }}, 0) as usage_seq,
            coalesce({{ 'max(built_drawdown_seq)' if tracked else '-2' }}, 0) as drawdown_seq,
            coalesce(max(usage_date), cast('1900-01-01' as date)) as last_date
        from {{ this }}
    ),

    rebuilt as (
        -- a build sequence that went back: that model was rebuilt from scratch
        select
            n.usage_seq < p.usage_seq
            or n.drawdown_seq < p.drawdown_seq
            or p.usage_seq < 0 as everything
        from previous_build as p
        cross join input_builds as n
    ),

    changed_charges as (
        select h.usage_id
        from {{ ref('stg_usage_history') }} as h
        cross join previous_build as p
        where h.built_seq > p.usage_seq
        union
        select e.item_id as usage_id
        from {{ ref('int_drawdown_entries') }} as e
        cross join previous_build as p
        where e.built_seq > p.drawdown_seq and e.entry_kind <> 'event'
        union
        {{ keys_moved_over_by_as_of('usage_id') }}
    ),

    redone_keys as (
        -- the keys this build redoes; those that are no charge any more get a marker row
        select c.usage_id
        from changed_charges as c
        union
        select prior.usage_id
        from {{ this }} as prior
        where (select r.everything from rebuilt as r)
    ),
{% endif %}

{#- `everything or key in (changed)`: see int_drawdown_entries (compared_charges) on why
    the OR keeps DuckDB hashing the few changed keys, not the millions of rows. -#}
charges as (
    select *
    from {{ ref('stg_usage') }} as u
    {% if is_incremental() %}
        where
            (select r.everything from rebuilt as r)
            or u.usage_id in (select c.usage_id from changed_charges as c)
    {% endif %}
),

allocated as (
    select
        a.usage_id,
        sum(a.tokens_drawn) as allocated_tokens
    from {{ ref('int_usage_allocation') }} as a
    {% if is_incremental() %}
        where
            (select r.everything from rebuilt as r)
            or a.usage_id in (select c.usage_id from changed_charges as c)
    {% endif %}
    group by a.usage_id
),

rows_out as (
    select
        u.usage_id,
        u.team_id,
        u.autodesk_id,
        u.product_line_code,
        u.version,
        u.usage_date,
        u.charge_ts,
        u.tokens,
        cast(coalesce(a.allocated_tokens, 0) as {{ dbt.type_bigint() }}) as allocated_tokens,
        cast(u.tokens - coalesce(a.allocated_tokens, 0) as {{ dbt.type_bigint() }})
            as unallocated_tokens,
        u.delivery_date
    from charges as u
    left join allocated as a
        on u.usage_id = a.usage_id
    {% if is_incremental() %}
        union all
        select
            c.usage_id,
            cast(null as {{ dbt.type_string() }}) as team_id,
            cast(null as {{ dbt.type_string() }}) as autodesk_id,
            cast(null as {{ dbt.type_string() }}) as product_line_code,
            cast(null as {{ dbt.type_string() }}) as version,
            cast(null as date) as usage_date,
            cast(null as {{ dbt.type_timestamp() }}) as charge_ts,
            cast(null as {{ dbt.type_bigint() }}) as tokens,
            cast(null as {{ dbt.type_bigint() }}) as allocated_tokens,
            cast(null as {{ dbt.type_bigint() }}) as unallocated_tokens,
            cast(null as date) as delivery_date
        from redone_keys as c
        where not exists (select 1 from charges as u where u.usage_id = c.usage_id)
    {% endif %}
)

select
    rows_out.*,
    n.usage_seq as built_usage_seq,
    n.drawdown_seq as built_drawdown_seq,
    {{ build_started_at() }} as built_at
from rows_out
cross join input_builds as n
