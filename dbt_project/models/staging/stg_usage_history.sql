{{
    config(
        materialized=incremental_materialization(),
        unique_key='usage_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}
-- Per usage_id, the row of the latest delivery dated on or before D, whatever the
-- usage date (stg_usage drops charges dated after D). Incremental: a run re-ranks
-- only the keys touched by deliveries that are new, re-delivered, or that moved
-- across D since the previous build; a key that no delivery holds any more is kept
-- as a tombstone (is_current = false). A re-ranked row carries the usage date of the row
-- it replaced (replaced_usage_date), so fct_daily_usage can redo the day a charge left.
-- `dbt build --full-refresh` rebuilds it all.
-- On Spark over plain Parquet (no MERGE / DELETE) it is rebuilt in full each run.
with

{% if is_incremental() %}
previous_build as (
    -- D of the latest build that wrote rows (a build that wrote none changed nothing);
    -- while no build has written any, every delivery counts as new
    select
        coalesce(max(built_seq), 0) as seq,
        coalesce(max(built_watermark), cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }}))
            as watermark,
        coalesce(
            max(case when built_seq = (select max(b.built_seq) from {{ this }} as b) then built_as_of end),
            cast('1900-01-01' as date)
        ) as as_of_date
    from {{ this }}
),

changed_deliveries as (
    select d.delivery_date
    from {{ source('raw', 'deliveries') }} as d
    cross join previous_build as p
    where
        (
            d.delivery_date <= {{ as_of_date() }}
            and (d.delivery_date > p.as_of_date or d.ingested_at > p.watermark)
        )
        or (d.delivery_date > {{ as_of_date() }} and d.delivery_date <= p.as_of_date)
),

affected_keys as (
    select src.usage_id
    from {{ source('raw', 'usage') }} as src
    where src.delivery_date in (select c.delivery_date from changed_deliveries as c)
    union
    select prior.usage_id
    from {{ this }} as prior
    where prior.delivery_date in (select c.delivery_date from changed_deliveries as c)
),
{% endif %}

ranked as (
    select
        src.*,
        row_number() over (
            partition by src.usage_id
            order by src.delivery_date desc, src.source_line desc
        ) as delivery_rank
    from {{ source('raw', 'usage') }} as src
    where
        src.delivery_date <= {{ as_of_date() }}
    {% if is_incremental() %}
            and src.usage_id in (select k.usage_id from affected_keys as k)
        {% endif %}
),

latest as (
    select
        cast(usage_id as {{ dbt.type_string() }}) as usage_id,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(autodesk_id as {{ dbt.type_string() }}) as autodesk_id,
        cast(product_line_code as {{ dbt.type_string() }}) as product_line_code,
        cast(version as {{ dbt.type_string() }}) as version,
        cast(usage_date as date) as usage_date,
        cast(charge_ts as {{ dbt.type_timestamp() }}) as charge_ts,
        cast(tokens as {{ dbt.type_bigint() }}) as tokens,
        delivery_date,
        true as is_current
    from ranked
    where delivery_rank = 1
),

rows_out as (
    {% if is_incremental() %}
        select
            latest.*,
            prior.usage_date as replaced_usage_date
        from latest
        left join {{ this }} as prior on latest.usage_id = prior.usage_id
        union all
        select
            k.usage_id,
            cast(null as {{ dbt.type_string() }}) as team_id,
            cast(null as {{ dbt.type_string() }}) as autodesk_id,
            cast(null as {{ dbt.type_string() }}) as product_line_code,
            cast(null as {{ dbt.type_string() }}) as version,
            cast(null as date) as usage_date,
            cast(null as {{ dbt.type_timestamp() }}) as charge_ts,
            cast(null as {{ dbt.type_bigint() }}) as tokens,
            cast(null as date) as delivery_date,
            false as is_current,
            prior.usage_date as replaced_usage_date
        from affected_keys as k
        left join {{ this }} as prior on k.usage_id = prior.usage_id
        where not exists (select 1 from latest as l where l.usage_id = k.usage_id)
    {% else %}
        select
            latest.*,
            cast(null as date) as replaced_usage_date
        from latest
    {% endif %}
)

select
    rows_out.*,
    {{ as_of_date() }} as built_as_of,
    cast(
        {% if is_incremental() %}
            (select p.seq + 1 from previous_build as p)
        {% else %}
            1
        {% endif %} as {{ dbt.type_bigint() }}
    ) as built_seq,
    (select max(d.ingested_at) from {{ source('raw', 'deliveries') }} as d) as built_watermark,
    {{ build_started_at() }} as built_at
from rows_out
