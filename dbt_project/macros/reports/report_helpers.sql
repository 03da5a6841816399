{#- Portable helpers for the report models (DuckDB and Spark). -#}

{% macro report_per_month(total_expr, months_expr) -%}
    {#- Unrounded average per month, as a double on every engine. -#}
    cast({{ total_expr }} as double) / {{ months_expr }}
{%- endmacro %}


{% macro report_day_offsets(count) -%}
    {#- A derived table of integers n = 0 .. count - 1 (count <= 1000), built from cross joins. -#}
    {%- if count > 1000 -%}
        {{ exceptions.raise_compiler_error('report_day_offsets supports at most 1000 rows') }}
    {%- endif -%}
    {%- set digits -%}
        (select 0 as n union all select 1 union all select 2 union all select 3
         union all select 4 union all select 5 union all select 6 union all select 7
         union all select 8 union all select 9)
    {%- endset -%}
    select ones.n + 10 * tens.n + 100 * hundreds.n as n
    from {{ digits }} as ones
    cross join {{ digits }} as tens
    cross join {{ digits }} as hundreds
    where ones.n + 10 * tens.n + 100 * hundreds.n < {{ count }}
{%- endmacro %}


{% macro report_sorted_join(expr) -%}
    {#- Aggregate: the group's values of expr (one row each), code-point sorted, '; '-joined. -#}
    {{ return(adapter.dispatch('report_sorted_join', 'flex_usage')(expr)) }}
{%- endmacro %}

{% macro default__report_sorted_join(expr) -%}
    {{ dbt.listagg(expr, "'; '", "order by " ~ expr) }}
{%- endmacro %}

{% macro spark__report_sorted_join(expr) -%}
    array_join(array_sort(collect_list({{ expr }})), '; ')
{%- endmacro %}
