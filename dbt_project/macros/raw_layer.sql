{#-
    Deduplication of the raw layer as of D.

    latest_snapshot: the rows of the newest delivery (listed in raw.deliveries)
    dated on or before D.
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
