{#-
    "First Last" from optional parts: one space between them, a missing
    (null or empty) part left out, null when both are missing.
-#}
{% macro join_name_parts(first_name, last_name) -%}
    {{ return(adapter.dispatch('join_name_parts', 'flex_usage')(first_name, last_name)) }}
{%- endmacro %}

{% macro default__join_name_parts(first_name, last_name) -%}
    case
        when coalesce({{ first_name }}, '') = '' and coalesce({{ last_name }}, '') = '' then null
        when coalesce({{ first_name }}, '') = '' then {{ last_name }}
        when coalesce({{ last_name }}, '') = '' then {{ first_name }}
        else {{ dbt.concat([first_name, "' '", last_name]) }}
    end
{%- endmacro %}

{% macro duckdb__join_name_parts(first_name, last_name) -%}
    nullif(concat_ws(' ', nullif({{ first_name }}, ''), nullif({{ last_name }}, '')), '')
{%- endmacro %}

{% macro spark__join_name_parts(first_name, last_name) -%}
    nullif(concat_ws(' ', nullif({{ first_name }}, ''), nullif({{ last_name }}, '')), '')
{%- endmacro %}
