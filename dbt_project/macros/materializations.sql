{#-
    Materializations that differ between engines. The history models that
    grow with every delivery (stg_usage_history, int_drawdown_entries) are
    incremental where the engine can delete rows (DuckDB) and rebuilt in full
    on Spark over plain Parquet tables, which have no DELETE or MERGE.
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

{#-
    Staging models: views where the checks read the warehouse file itself
    (DuckDB); tables on Spark, whose build the checks and exports read through
    a DuckDB catalog of the Parquet table folders (views have none).
-#}
{% macro staging_materialization() -%}
    {{ return(adapter.dispatch('staging_materialization', 'flex_usage')()) }}
{%- endmacro %}

{% macro default__staging_materialization() -%}
    {{ return('view') }}
{%- endmacro %}

{% macro spark__staging_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#-
    Models read only on demand (rpt_usage_history, fct_usage_allocation): a view on DuckDB,
    so the nightly build copies nothing and a re-sent day is seen at once; a table on Spark
    (see above).
-#}
{% macro on_demand_materialization() -%}
    {{ return(staging_materialization()) }}
{%- endmacro %}

{#-
    Reports that only join displayed names onto a narrow table of ids (rpt_user_weekly_days):
    a view on DuckDB, so the nightly build does not copy millions of wide rows that the
    exports read once; a table on Spark (see staging_materialization).
-#}
{% macro joined_report_materialization() -%}
    {{ return(staging_materialization()) }}
{%- endmacro %}
