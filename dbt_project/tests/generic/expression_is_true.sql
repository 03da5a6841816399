{#- Generic test: `expression` holds on every row of the model; returns the rows where not. -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
