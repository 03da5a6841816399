{#-
    Every (charge, bucket) pair where the bucket is held by the charge's team
    and its pack is active on the charge's usage_date, with the bucket's
    cumulative token events up to and including the charge's instant (events
    at the same instant apply before the charge). Used by the drawdown and by
    the ledger tests that check it.
-#}
{% macro usage_bucket_inflows(usage, token_events, ledger) -%}
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
    ),

    timeline as (
        select
            team_id,
            subscription_id,
            event_ts as ts,
            0 as kind,
            event_id as item_id,
            tokens as inflow,
            cast(null as {{ dbt.type_int() }}) as bucket_rank
        from {{ token_events }}
        union all
        select
            team_id,
            subscription_id,
            charge_ts as ts,
            1 as kind,
            usage_id as item_id,
            cast(0 as {{ dbt.type_bigint() }}) as inflow,
            bucket_rank
        from candidates
    ),

    accumulated as (
        select
            team_id,
            subscription_id,
            kind,
            item_id,
            bucket_rank,
            sum(inflow) over (
                partition by team_id, subscription_id
                order by ts, kind, item_id
                rows between unbounded preceding and current row
            ) as inflow_to_charge
        from timeline
    )

    select
        item_id as usage_id,
        team_id,
        subscription_id,
        bucket_rank,
        inflow_to_charge
    from accumulated
    where kind = 1
{%- endmacro %}
