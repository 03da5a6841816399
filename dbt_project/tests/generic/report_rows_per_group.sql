{#- Generic test: every group of `group_by` has exactly `expected` rows. -#}
{% test report_rows_per_group(model, group_by, expected) %}
    select
        {{ group_by | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by all
    having count(*) <> {{ expected }}
{% endtest %}
