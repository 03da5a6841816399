{#-
    Every (charge, bucket) pair where the bucket is held by the charge's team
    and its pack is active on the charge's usage_date, with the bucket's
    cumulative token events up to and including the charge's instant (events
    at the same instant apply before the charge). Used by the drawdown and by
    the ledger tests that check it. With `reach_column`, a column of `usage`,
    only the buckets ranked up to it are paired with the charge (all of them
    where it is null).

    A bucket has few token events: its cumulative inflow is a step function
    of time, one step per event instant, and each pair looks up the step its
    charge falls in (an equi-join on the bucket plus a time-range filter), so
    the charges are never sorted into the buckets' timelines.
-#}
{% macro usage_bucket_inflows(usage, token_events, ledger, reach_column=none) -%}
    with candidates as (
        select
            u.team_id,
            u.usage_id,
            u.charge_ts,
            b.subscription_id,
            b.bucket_rank
        from {{ usage }} as u
        inner join {{ ledger }} as b
            on
                u.team_id = b.team_id
                and u.usage_date >= b.start_date
                and u.usage_date <= b.end_date
                {%- if reach_column %}
                    and (u.{{ reach_column }} is null or b.bucket_rank <= u.{{ reach_column }})
                {%- endif %}
    ),

    instants as (
        select
            team_id,
            subscription_id,
            event_ts,
            sum(tokens) as tokens
        from {{ token_events }}
        group by team_id, subscription_id, event_ts
    ),

    steps as (
        -- from from_ts (included) to to_ts (excluded; null: no later event) the bucket's
        -- events add up to inflow
        select
            team_id,
            subscription_id,
            event_ts as from_ts,
            lead(event_ts) over (
                partition by team_id, subscription_id
                order by event_ts
            ) as to_ts,
            sum(tokens) over (
                partition by team_id, subscription_id
                order by event_ts
                rows between unbounded preceding and current row
            ) as inflow
        from instants
    )

    select
        c.usage_id,
        c.team_id,
        c.subscription_id,
        c.bucket_rank,
        coalesce(s.inflow, 0) as inflow_to_charge
    from candidates as c
    left join steps as s
        on
            c.team_id = s.team_id
            and c.subscription_id = s.subscription_id
            and c.charge_ts >= s.from_ts
            and (s.to_ts is null or c.charge_ts < s.to_ts)
{%- endmacro %}
