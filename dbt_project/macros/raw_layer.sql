{#-
    Deduplication of the raw layer as of D.

    latest_snapshot: the rows of the newest delivery (listed in raw.deliveries)
    dated on or before D.
    snapshot_with_fallback: per key, the latest valid version on or before D.
    The newest delivery's rows as they are (from_newest_snapshot = true), plus,
    for every key that the newest delivery lacks (its row was quarantined there,
    or upstream dropped it), the row of the latest earlier delivery that holds it
    (from_newest_snapshot = false). Rows of earlier deliveries were validated
    against their own delivery's snapshot, so an entity they refer to stays known
    even when a later delivery quarantines its snapshot row. Who is reported is
    not decided here: the models filter on from_newest_snapshot where it matters.
    Only the rows of keys absent from the newest delivery are ranked (an
    anti-join first), so the window stays small however many deliveries exist.
    latest_increment: per key, the row from the latest delivery dated on or
    before D (within one delivery the last line wins). Dropping facts dated
    after D is left to the calling model because the fact date differs per
    entity.
-#}
{% macro latest_snapshot(table_name) -%}
    select src.*
    from {{ source('raw', table_name) }} as src
    where src.delivery_date = (
        select max(d.delivery_date)
        from {{ source('raw', 'deliveries') }} as d
        where d.delivery_date <= {{ as_of_date() }}
    )
{%- endmacro %}

{% macro snapshot_with_fallback(table_name, key_column) -%}
    select
        newest_rows.*,
        true as from_newest_snapshot,
        1 as snapshot_rank
    from ({{ latest_snapshot(table_name) }}) as newest_rows
    union all
    select fallback_rows.*
    from (
        select
            src.*,
            false as from_newest_snapshot,
            row_number() over (
                partition by src.{{ key_column }}
                order by src.delivery_date desc, src.source_line desc
            ) as snapshot_rank
        from {{ source('raw', table_name) }} as src
        left join ({{ latest_snapshot(table_name) }}) as newest_keys
            on src.{{ key_column }} = newest_keys.{{ key_column }}
        where
            src.delivery_date <= {{ as_of_date() }}
            and newest_keys.{{ key_column }} is null
    ) as fallback_rows
    where fallback_rows.snapshot_rank = 1
{%- endmacro %}

{% macro latest_increment(table_name, key_column) -%}
    select ranked.*
    from (
        select
            src.*,
            row_number() over (
                partition by src.{{ key_column }}
                order by src.delivery_date desc, src.source_line desc
            ) as delivery_rank
        from {{ source('raw', table_name) }} as src
        where src.delivery_date <= {{ as_of_date() }}
    ) as ranked
    where ranked.delivery_rank = 1
{%- endmacro %}
