{#-
    Deduplication of the raw layer as of D.

    A snapshot's rows are stored once per content (raw.<entity>_contents, by
    content_key); raw.snapshot_files names the content every delivery carried.
    snapshot_contents: each content carried by a delivery dated on or before D,
    with the newest such delivery (delivery_date).
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
    Each content is ranked once, with the newest delivery on or before D that
    carried it: the same row wins as among every delivery's copy. Only the rows
    of keys absent from the newest delivery are ranked (an anti-join first).
    latest_increment: per key, the row from the latest delivery dated on or
    before D (within one delivery the last line wins). Dropping facts dated
    after D is left to the calling model because the fact date differs per
    entity.
-#}
{% macro snapshot_contents(table_name) -%}
    select
        files.content_key,
        max(files.delivery_date) as delivery_date
    from {{ source('raw', 'snapshot_files') }} as files
    where
        files.file = '{{ table_name }}.csv'
        and files.delivery_date <= {{ as_of_date() }}
    group by files.content_key
{%- endmacro %}

{% macro latest_snapshot(table_name) -%}
    select
        src.*,
        files.delivery_date
    from {{ source('raw', table_name ~ '_contents') }} as src
    inner join {{ source('raw', 'snapshot_files') }} as files
        on src.content_key = files.content_key
    where
        files.file = '{{ table_name }}.csv'
        and files.delivery_date = (
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
            carried.delivery_date,
            false as from_newest_snapshot,
            row_number() over (
                partition by src.{{ key_column }}
                order by carried.delivery_date desc, src.source_line desc
            ) as snapshot_rank
        from {{ source('raw', table_name ~ '_contents') }} as src
        inner join ({{ snapshot_contents(table_name) }}) as carried
            on src.content_key = carried.content_key
        left join ({{ latest_snapshot(table_name) }}) as newest_keys
            on src.{{ key_column }} = newest_keys.{{ key_column }}
        where newest_keys.{{ key_column }} is null
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
