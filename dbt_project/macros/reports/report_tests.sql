{#- Generic data test for the report models; returns the failing groups. -#}

{% test report_rows_per_group(model, group_by, expected) %}
    {#- Every group of `group_by` has exactly `expected` rows. -#}
    select {{ group_by | join(', ') }}, count(*) as row_count
    from {{ model }}
    group by {{ group_by | join(', ') }}
    having count(*) <> {{ expected }}
{% endtest %}
