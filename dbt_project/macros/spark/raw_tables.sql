{#-
    Declares the raw layer on Spark (on-run-start hook; nothing to do elsewhere).

    Each table of source `raw` is an external Parquet table over
    `$FLEX_SPARK_RAW_DIR/<table>/`, written from the DuckDB raw layer by
    `orchestration.spark.export_raw_to_parquet`. The tables are re-declared
    on every run, so a changed folder or schema is always picked up; dropping
    an external table never deletes its files.
-#}
{% macro create_raw_tables_on_spark() -%}
    {{ return(adapter.dispatch('create_raw_tables_on_spark', 'flex_usage')()) }}
{%- endmacro %}

{% macro default__create_raw_tables_on_spark() -%}
{%- endmacro %}

{% macro spark__create_raw_tables_on_spark() -%}
    {%- if execute -%}
        {%- set raw_dir = env_var('FLEX_SPARK_RAW_DIR').rstrip('/') -%}
        {%- set raw_sources = graph.sources.values()
            | selectattr('source_name', 'equalto', 'raw')
            | sort(attribute='identifier') -%}
        {%- for src in raw_sources -%}
            {%- set table = src.schema ~ '.' ~ src.identifier -%}
            {%- do run_query('create schema if not exists ' ~ src.schema) -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query(
                'create table ' ~ table ~ ' using parquet location '
                ~ "'" ~ raw_dir ~ '/' ~ src.identifier ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
