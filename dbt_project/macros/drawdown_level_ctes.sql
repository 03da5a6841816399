{#-
    The drawdown of `charges` (usage_id, team_id, usage_date, charge_ts,
    tokens) against `inflows` (usage_bucket_inflows: per eligible
    (charge, bucket) the bucket's cumulative token events up to the charge),
    as common table expressions level_0 .. level_<depth> to splice into a
    model's WITH list; level_<depth> has one row per charge with, per level
    k = 1..depth, subscription_k (the team's bucket of rank k, when
    eligible), drawn_k and residual_k.

    Buckets are processed level by level (bucket_rank 1, 2, ...): what a
    bucket gives depends only on its own token events and on the charges'
    residuals left by the lower-ranked buckets of the team. Within a bucket,
    with R = cumulative eligible residual charges and I = cumulative token
    events up to a charge's instant, the tokens lost so far (charged while the
    bucket was empty) are max(0, max of R - I over the eligible charges up to
    this one); a charge draws its residual minus the growth of that loss. This
    closed form assumes the bucket's balance is never negative just before a
    charge; the test assert_ledger_balance_never_negative guards it.

    A charge is eligible for a bucket when the pack is active on its
    usage_date and its residual is positive. Spark refuses window functions
    in a recursive CTE, so the levels are unrolled at compile time.
-#}
{% macro drawdown_level_ctes(charges, inflows, depth) -%}
    {%- set charge_order -%}
        partition by team_id
        order by charge_ts, usage_id
        rows between unbounded preceding and current row
    {%- endset -%}
    {%- set charge_order_before -%}
        partition by team_id
        order by charge_ts, usage_id
        rows between unbounded preceding and 1 preceding
    {%- endset -%}
    level_0 as (
        select
            usage_id,
            team_id,
            usage_date,
            charge_ts,
            tokens,
            tokens as residual_0
        from {{ charges }}
    ),
    {% for k in range(1, depth + 1) %}
        {%- set eligible -%}
            bucket.usage_id is not null and prev.residual_{{ k - 1 }} > 0
        {%- endset -%}
        {%- set drawn -%}
        case
            when inflow_{{ k }} is not null then residual_{{ k - 1 }} - (
                greatest(coalesce(max(cumulative_{{ k }} - inflow_{{ k }}) over (
                    {{ charge_order }}
                ), 0), 0)
                - greatest(coalesce(max(cumulative_{{ k }} - inflow_{{ k }}) over (
                    {{ charge_order_before }}
                ), 0), 0)
            )
            else 0
        end
        {%- endset %}
        level_{{ k }}_cumulated as (
            select
                prev.*,
                bucket.subscription_id as subscription_{{ k }},
                case when {{ eligible }} then bucket.inflow_to_charge end as inflow_{{ k }},
                sum(case when {{ eligible }} then prev.residual_{{ k - 1 }} else 0 end) over (
                    partition by prev.team_id
                    order by prev.charge_ts, prev.usage_id
                    rows between unbounded preceding and current row
                ) as cumulative_{{ k }}
            from level_{{ k - 1 }} as prev
            left join {{ inflows }} as bucket
                on prev.usage_id = bucket.usage_id and bucket.bucket_rank = {{ k }}
        ),

        level_{{ k }} as (
            select
                *,
                {{ drawn }} as drawn_{{ k }},
                residual_{{ k - 1 }} - {{ drawn }} as residual_{{ k }}
            from level_{{ k }}_cumulated
        ){% if not loop.last %},{% endif %}
    {% endfor %}
{%- endmacro %}
