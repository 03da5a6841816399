-- The five reporting ranges for D. L is the last fully completed month:
-- the month of D when D is its month's last day, otherwise the month before.
with anchors as (
    select
        {{ as_of_date() }} as as_of,
        case
            when {{ as_of_date() }} = {{ date_month_end(as_of_date()) }}
                then {{ as_of_date() }}
            else {{ date_add_days(date_month_start(as_of_date()), -1) }}
        end as last_month_end
),

ranges as (
    select
        1 as range_order,
        'Past 30 days' as time_range,
        {{ date_add_days('as_of', -29) }} as start_date,
        as_of as end_date,
        1 as months
    from anchors
    {%- for months in report_month_ranges() %}
        union all
        select
            {{ loop.index + 1 }} as range_order,
            'Past {{ months }} months' as time_range,
            {{ date_add_months(date_month_start('last_month_end'), 1 - months) }} as start_date,
            last_month_end as end_date,
            {{ months }} as months
        from anchors
    {%- endfor %}
)

select
    cast(range_order as {{ dbt.type_int() }}) as range_order,
    cast(time_range as {{ dbt.type_string() }}) as time_range,
    start_date,
    end_date,
    cast(months as {{ dbt.type_int() }}) as months,
    cast({{ dbt.datediff('start_date', 'end_date', 'day') }} + 1 as {{ dbt.type_int() }})
        as days_in_range
from ranges
