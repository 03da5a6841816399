{#-
    Exact integer rounding, half up, of numerator / denominator for a non-negative integer
    numerator and a positive integer denominator (both integer expressions). Only integer
    arithmetic decides the result: the final division is exact, so it cannot round wrong.
-#}
{% macro divide_round_half_up(numerator, denominator) -%}
    cast(
        (
            (2 * ({{ numerator }}) + ({{ denominator }}))
            - mod(2 * ({{ numerator }}) + ({{ denominator }}), 2 * ({{ denominator }}))
        ) / (2 * ({{ denominator }}))
        as {{ dbt.type_bigint() }}
    )
{%- endmacro %}
