{#- The report date D as a DATE literal, from the environment variable FLEX_AS_OF_DATE
    (YYYY-MM-DD). It is read only when SQL is compiled (`execute`), never while dbt parses
    the project, so a new date does not invalidate dbt's partial parse (a var would: any
    change of `--vars` makes dbt parse the whole project again). -#}
{% macro as_of_date() -%}
    {%- if execute -%}
        cast('{{ env_var("FLEX_AS_OF_DATE") }}' as date)
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}
