{#-
    How the history models that grow with every delivery (stg_usage_history,
    int_drawdown_entries) are materialized: incremental where the engine can
    delete rows (DuckDB), a full rebuild on Spark over plain Parquet tables,
    which have no DELETE or MERGE.
-#}
{% macro incremental_materialization() -%}
    {{ return(adapter.dispatch('incremental_materialization', 'flex_usage')()) }}
{%- endmacro %}

{% macro default__incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
