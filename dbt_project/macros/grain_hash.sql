{#-
    A 64-bit hash of `columns` for the unique_combination test's first pass, or an empty
    string where the engine has none (the test then groups on the columns only).
-#}
{% macro grain_hash(columns) -%}
    {{ return(adapter.dispatch('grain_hash', 'flex_usage')(columns)) }}
{%- endmacro %}

{% macro default__grain_hash(columns) -%}
{%- endmacro %}

{% macro duckdb__grain_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__grain_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}
