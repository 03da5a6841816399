{#-
    The drawdown: how many tokens each charge draws from each bucket.

    Buckets are processed level by level (bucket_rank 1, 2, ...): what a
    bucket gives depends only on its own token events and on the charges'
    residuals left by the lower-ranked buckets of the team. Within a bucket,
    with R = cumulative eligible residual charges and I = cumulative token
    events up to a charge's instant, the tokens lost so far (charged while the
    bucket was empty) are max(0, max of R - I over the eligible charges up to
    this one); a charge draws its residual minus the growth of that loss. This closed
    form assumes the bucket's balance is never negative just before a charge;
    the test assert_ledger_balance_never_negative guards it.

    A charge is eligible for a bucket when the pack is active on its
    usage_date and its residual is positive. The number of levels is the most
    packs one team holds (see the drawdown_depth macro): Spark refuses window
    functions in a recursive CTE, so the levels are unrolled at compile time.
-#}
{{ config(pre_hook="{{ drawdown_session_settings() }}") }}
{%- set depth = drawdown_depth() -%}
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

with inflows as (
    {{ usage_bucket_inflows(ref('stg_usage'), ref('stg_token_events'), ref('int_team_pack_ledger')) }}
),

level_0 as (
    select
        usage_id,
        team_id,
        usage_date,
        charge_ts,
        tokens,
        tokens as residual_0
    from {{ ref('stg_usage') }}
),
{% for k in range(1, depth + 1) %}
    {%- set eligible -%}
        inflows.usage_id is not null and prev.residual_{{ k - 1 }} > 0
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
            inflows.subscription_id as subscription_{{ k }},
            case when {{ eligible }} then inflows.inflow_to_charge end as inflow_{{ k }},
            sum(case when {{ eligible }} then prev.residual_{{ k - 1 }} else 0 end) over (
                partition by prev.team_id
                order by prev.charge_ts, prev.usage_id
                rows between unbounded preceding and current row
            ) as cumulative_{{ k }}
        from level_{{ k - 1 }} as prev
        left join inflows
            on prev.usage_id = inflows.usage_id and inflows.bucket_rank = {{ k }}
    ),

    level_{{ k }} as (
        select
            *,
            {{ drawn }} as drawn_{{ k }},
            residual_{{ k - 1 }} - {{ drawn }} as residual_{{ k }}
        from level_{{ k }}_cumulated
    ),
{% endfor %}

levels as (
    {%- for k in range(1, depth + 1) %}
        select {{ k }} as bucket_rank
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

unpivoted as (
    select
        final.usage_id,
        final.team_id,
        final.usage_date,
        final.charge_ts,
        levels.bucket_rank,
        case levels.bucket_rank
            {%- for k in range(1, depth + 1) %}
                when {{ k }} then final.subscription_{{ k }}
            {%- endfor %}
        end as subscription_id,
        case levels.bucket_rank
            {%- for k in range(1, depth + 1) %}
                when {{ k }} then final.drawn_{{ k }}
            {%- endfor %}
        end as tokens_drawn
    from level_{{ depth }} as final
    cross join levels
)

select
    usage_id,
    team_id,
    subscription_id,
    bucket_rank,
    usage_date,
    charge_ts,
    cast(tokens_drawn as {{ dbt.type_bigint() }}) as tokens_drawn
from unpivoted
where tokens_drawn > 0
