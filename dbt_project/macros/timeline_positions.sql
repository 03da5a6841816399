{#-
    Whether position a comes strictly before position b on a pack's timeline.
    A position is (instant, phase, item): at one instant the opening balance
    (phase -1) comes first, then the token events (phase 0, item ''), then the
    charges (phase 1) in usage_id order, as in the drawdown.
-#}
{% macro position_before(a_ts, a_phase, a_item, b_ts, b_phase, b_item) -%}
    (
        {{ a_ts }} < {{ b_ts }}
        or (
            {{ a_ts }} = {{ b_ts }}
            and (
                {{ a_phase }} < {{ b_phase }}
                or ({{ a_phase }} = {{ b_phase }} and {{ a_item }} < {{ b_item }})
            )
        )
    )
{%- endmacro %}
