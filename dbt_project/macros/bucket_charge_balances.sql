{#-
    For every (charge, bucket active on the charge's usage_date): the tokens
    the charge drew from the bucket, the charge's residual before reaching it
    (tokens minus what lower-ranked buckets gave), and the bucket's balance
    just before and just after the charge. Shared by the ledger/drawdown
    singular tests.
-#}
{% macro bucket_charge_balances() -%}
    with inflows as (
        {{ usage_bucket_inflows(ref('stg_usage'), ref('stg_token_events'), ref('int_team_pack_ledger')) }}
    ),

    pairs as (
        select
            i.usage_id,
            i.team_id,
            i.subscription_id,
            i.bucket_rank,
            i.inflow_to_charge,
            u.charge_ts,
            u.tokens,
            coalesce(a.tokens_drawn, 0) as tokens_drawn
        from inflows as i
        inner join {{ ref('stg_usage') }} as u
            on i.usage_id = u.usage_id
        left join {{ ref('int_usage_allocation') }} as a
            on i.usage_id = a.usage_id and i.subscription_id = a.subscription_id
    ),

    with_running as (
        select
            p.*,
            sum(p.tokens_drawn) over (
                partition by p.team_id, p.subscription_id
                order by p.charge_ts, p.usage_id
                rows between unbounded preceding and current row
            ) as drawn_through_charge,
            p.tokens - coalesce(sum(p.tokens_drawn) over (
                partition by p.usage_id
                order by p.bucket_rank
                rows between unbounded preceding and 1 preceding
            ), 0) as residual_before
        from pairs as p
    )

    select
        usage_id,
        team_id,
        subscription_id,
        bucket_rank,
        tokens,
        tokens_drawn,
        residual_before,
        inflow_to_charge - drawn_through_charge + tokens_drawn as balance_before,
        inflow_to_charge - drawn_through_charge as balance_after
    from with_running
{%- endmacro %}
