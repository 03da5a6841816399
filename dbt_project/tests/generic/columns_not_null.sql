{#-
    Generic test: none of `columns` holds a null. One model-level test stands for a not_null
    test per column (one dbt node and one Dagster check instead of one per column). It scans
    the model once and returns one row per column that has nulls: column_name, null_rows.
-#}
{% test columns_not_null(model, columns) %}
    with null_counts as (
        select
            {%- for column in columns %}
                sum(case when {{ column }} is null then 1 else 0 end)
                    as null_rows_{{ loop.index }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ model }}
    )

    {% for column in columns -%}
        select
            '{{ column }}' as column_name,
            null_rows_{{ loop.index }} as null_rows
        from null_counts
        where null_rows_{{ loop.index }} > 0
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endtest %}
