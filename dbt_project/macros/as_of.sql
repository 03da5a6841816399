{#- The report date D (var `as_of_date`, YYYY-MM-DD) as a DATE literal. -#}
{% macro as_of_date() -%}
    cast('{{ var("as_of_date") }}' as date)
{%- endmacro %}
