{#-
    Each bucket's cumulative token events as a step function of time, for the
    drawdown: one row per (team_key, bucket_rank) and step, with the pack's
    start_date and end_date, step_seq (0, 1, ... in time order), from_ts
    (included; null for step 0, before the first event), to_ts (excluded;
    null: no later event) and `inflow`, the bucket's events up to and
    including any instant of the step (events at a charge's instant apply
    before it). `teams` maps team_id to the drawdown's
    integer team_key.

    A bucket has few token events, so this is a small table: a charge finds
    its bucket's inflow by an equi-join on (team_key, bucket_rank) and a
    date and time-range filter, and the charges are never sorted into the
    buckets' timelines.
-#}
{% macro bucket_inflow_steps(token_events, ledger, teams) -%}
    with instants as (
        select
            team_id,
            subscription_id,
            event_ts,
            sum(tokens) as tokens
        from {{ token_events }}
        group by team_id, subscription_id, event_ts
    ),

    steps as (
        select
            team_id,
            subscription_id,
            row_number() over (
                partition by team_id, subscription_id
                order by event_ts
            ) as step_seq,
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
        union all
        select
            team_id,
            subscription_id,
            0 as step_seq,
            cast(null as {{ dbt.type_timestamp() }}) as from_ts,
            min(event_ts) as to_ts,
            0 as inflow
        from instants
        group by team_id, subscription_id
    )

    select
        t.team_key,
        b.bucket_rank,
        b.start_date,
        b.end_date,
        s.step_seq,
        s.from_ts,
        s.to_ts,
        s.inflow
    from {{ ledger }} as b
    inner join {{ teams }} as t
        on b.team_id = t.team_id
    inner join steps as s
        on b.team_id = s.team_id and b.subscription_id = s.subscription_id
{%- endmacro %}
