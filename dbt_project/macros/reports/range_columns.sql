{#-
    The five time ranges as columns: the range models aggregate the daily usage once, with
    one conditional sum per range, and then turn the columns back into one row per range.
    Each daily row is read once, however many of the nested ranges it lies in.
-#}

{% macro report_month_ranges() -%}
    {#- The month counts of the ranges after 'Past 30 days' (int_time_ranges). -#}
    {{ return([3, 6, 9, 12]) }}
{%- endmacro %}


{% macro report_range_orders() -%}
    {#- range_order of every range of int_time_ranges: 1 (Past 30 days), then one per month count. -#}
    {{ return(range(1, report_month_ranges() | length + 2) | list) }}
{%- endmacro %}


{% macro report_range_bounds() -%}
    {#-
        A one-row derived table: start_<n> and end_<n> of each range n, and first_day and
        last_day, the span of all of them.
    -#}
    (
        select
            {%- for n in report_range_orders() %}
                max(case when range_order = {{ n }} then start_date end) as start_{{ n }},
                max(case when range_order = {{ n }} then end_date end) as end_{{ n }},
            {%- endfor %}
            min(start_date) as first_day,
            max(end_date) as last_day
        from {{ ref('int_time_ranges') }}
    )
{%- endmacro %}


{% macro report_sum_per_range(value, date_expr, name, bounds='bounds') -%}
    {#- Aggregates: <name>_<n> = sum of value over the rows whose date_expr lies in range n. -#}
    {%- for n in report_range_orders() %}
        sum(
            case
                when {{ date_expr }} between {{ bounds }}.start_{{ n }} and {{ bounds }}.end_{{ n }}
                    then {{ value }}
                else 0
            end
        ) as {{ name }}_{{ n }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro report_range_value(name, range_order) -%}
    {#- The <name>_<n> column of the range in range_order (one row per range after a cross join). -#}
    case {{ range_order }}
        {%- for n in report_range_orders() %}
            when {{ n }} then {{ name }}_{{ n }}
        {%- endfor %}
    end
{%- endmacro %}


{% macro report_daily_usage_in_span() -%}
    {#-
        A derived table: the daily usage rows (fct_daily_usage) of the reported teams dated
        between the first day of the earliest range and the last day of the latest one.
    -#}
    (
        select
            daily.team_id,
            daily.autodesk_id,
            daily.product_line_code,
            daily.version,
            daily.usage_date,
            daily.tokens
        from {{ ref('fct_daily_usage') }} as daily
        inner join {{ ref('int_report_teams') }} as teams on daily.team_id = teams.team_id
        cross join {{ report_range_bounds() }} as span
        where daily.usage_date between span.first_day and span.last_day
    )
{%- endmacro %}
