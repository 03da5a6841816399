{#-
    Grain tests that check only what changed since they last passed.

    The incremental tables (stg_usage_history, fct_usage, fct_daily_usage,
    int_drawdown_entries) stamp every row they write with built_at, the start of the dbt
    invocation that wrote it; int_usage_allocation, the view of the drawdown's draws,
    passes its entries' built_at through. A grain test given `since_last_pass: built_at`
    checks only the grains holding a row written after the test last passed (when those
    are fewer than half the rows; otherwise it groups them all): a duplicate needs at
    least one row written since then, because the table had none when the test passed. The
    on-run-end hook records each such pass in checks.test_passes (DuckDB). A failed night
    records nothing, so the next build checks everything written since the last pass; a
    full refresh rewrites every row, so its build checks all of them; a row without
    built_at (written before the column existed) is always checked. Engines that keep no
    passes (Spark, whose incremental models are rebuilt in full each run) check the whole
    table every time.
-#}

{#- The start of this dbt invocation, as a timestamp: the built_at of every row it writes. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The name a pass is kept under: table, test and grain columns. -#}
{% macro test_pass_key(table_name, test_name, columns) -%}
    {{ table_name }}:{{ test_name }}:{{ columns | join(',') }}
{%- endmacro %}

{#-
    A scalar subquery giving when the test `key` last passed (long ago when never), or an
    empty string where no passes are kept: the test then checks the whole table.
-#}
{% macro last_test_pass(key) -%}
    {{ return(adapter.dispatch('last_test_pass', 'flex_usage')(key)) }}
{%- endmacro %}

{% macro default__last_test_pass(key) -%}
{%- endmacro %}

{% macro duckdb__last_test_pass(key) -%}
    (
        select coalesce(max(p.passed_at), cast('1900-01-01 00:00:00' as timestamp))
        from checks.test_passes as p
        where p.test_key = '{{ key }}'
    )
{%- endmacro %}

{#- Whether a row was written since `last_pass` (a row without the column always counts). -#}
{% macro written_since(column, last_pass) -%}
    ({{ column }} is null or {{ column }} > {{ last_pass }})
{%- endmacro %}

{#-
    Whether the grain test should group only the grains of rows written since its last pass:
    when fewer than half of the table's rows are that recent. After a first or full build
    every row is, and grouping them all directly costs half as much as first probing each
    against the recent ones. While compiling without a built table there is nothing to
    count, and the narrowed form is kept.
-#}
{% macro narrowing_pays(relation, column, last_pass) -%}
    {%- if not execute or load_relation(relation) is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- if adapter.get_relation(relation.database, 'checks', 'test_passes') is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set recent_is_few -%}
        select count(*) filter (where {{ written_since(column, last_pass) }}) * 2 < count(*)
        from {{ relation }}
    {%- endset -%}
    {{ return(run_query(recent_is_few).columns[0].values()[0]) }}
{%- endmacro %}

{#- on-run-start: the table of passes (DuckDB). -#}
{% macro create_test_passes() -%}
    {{ return(adapter.dispatch('create_test_passes', 'flex_usage')()) }}
{%- endmacro %}

{% macro default__create_test_passes() -%}
{%- endmacro %}

{% macro duckdb__create_test_passes() -%}
    create schema if not exists checks;
    create table if not exists checks.test_passes (
        test_key varchar primary key,
        passed_at timestamp not null
    )
{%- endmacro %}

{#- on-run-end: record this invocation's start as the last pass of every test that passed. -#}
{% macro record_test_passes(results) -%}
    {{ return(adapter.dispatch('record_test_passes', 'flex_usage')(results)) }}
{%- endmacro %}

{% macro default__record_test_passes(results) -%}
{%- endmacro %}

{% macro duckdb__record_test_passes(results) -%}
    {%- set keys = [] -%}
    {%- for result in results if result.node.resource_type == 'test' and result.status == 'pass' -%}
        {%- set test = result.node.test_metadata -%}
        {%- if test and test.kwargs.get('since_last_pass') -%}
            {%- set tested = graph.nodes[result.node.attached_node] -%}
            {%- do keys.append(test_pass_key(tested.alias, test.name, test.kwargs['columns'])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if keys -%}
        insert or replace into checks.test_passes (test_key, passed_at)
        values
        {%- for key in keys %}
            ('{{ key }}', {{ build_started_at() }}){{ ',' if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
