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


{% macro report_band_daily_usage() -%}
    {#-
        A derived table: the daily usage rows (fct_daily_usage) of the reported teams dated in
        a band of int_range_bands, each with its band_start. Every row is in one band at most.
    -#}
    (
        select
            daily.team_id,
            bands.band_start,
            daily.autodesk_id,
            daily.product_line_code,
            daily.version,
            daily.usage_date,
            daily.tokens
        from {{ ref('fct_daily_usage') }} as daily
        inner join {{ ref('int_report_teams') }} as teams on daily.team_id = teams.team_id
        inner join (
            select distinct
                band_start,
                band_end
            from {{ ref('int_range_bands') }}
        ) as bands
            on daily.usage_date between bands.band_start and bands.band_end
    )
{%- endmacro %}
