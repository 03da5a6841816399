{#-
    Date arithmetic that returns DATE on every engine. The defaults use dbt's
    cross-database macros; Spark gets its native date functions because
    dbt-spark's dateadd goes through unix timestamps and yields NULL with a
    TIMESTAMP_NTZ session.
-#}
{% macro date_add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('date_add_days', 'flex_usage')(date_expr, days)) }}
{%- endmacro %}

{% macro default__date_add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro spark__date_add_days(date_expr, days) -%}
    date_add({{ date_expr }}, {{ days }})
{%- endmacro %}

{% macro date_add_months(date_expr, months) -%}
    {{ return(adapter.dispatch('date_add_months', 'flex_usage')(date_expr, months)) }}
{%- endmacro %}

{% macro default__date_add_months(date_expr, months) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}

{% macro spark__date_add_months(date_expr, months) -%}
    add_months({{ date_expr }}, {{ months }})
{%- endmacro %}

{% macro date_month_start(date_expr) -%}
    {{ return(adapter.dispatch('date_month_start', 'flex_usage')(date_expr)) }}
{%- endmacro %}

{% macro default__date_month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{% macro spark__date_month_start(date_expr) -%}
    trunc({{ date_expr }}, 'MM')
{%- endmacro %}

{% macro date_month_end(date_expr) -%}
    {{ return(adapter.dispatch('date_month_end', 'flex_usage')(date_expr)) }}
{%- endmacro %}

{% macro default__date_month_end(date_expr) -%}
    cast({{ dbt.last_day(date_expr, 'month') }} as date)
{%- endmacro %}

{% macro spark__date_month_end(date_expr) -%}
    last_day({{ date_expr }})
{%- endmacro %}
