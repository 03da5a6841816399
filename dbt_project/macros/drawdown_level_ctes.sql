{#-
    The drawdown of `charges` (usage_id, team_id, usage_date, charge_ts,
    tokens > 0) against `inflows` (usage_bucket_inflows: per eligible
    (charge, bucket) the bucket's cumulative token events up to the charge),
    as common table expressions to splice into a model's WITH list. It ends
    with two of them: drawdown_draws (usage_id, team_id, usage_date,
    charge_ts, subscription_id, tokens_drawn > 0: one row per charge and
    bucket it drew from) and drawdown_unallocated (the same keys and
    `tokens`: what no bucket could cover, when positive).

    Buckets are processed level by level (bucket_rank 1, 2, ...): what a
    bucket gives depends only on its own token events and on the charges'
    residuals left by the lower-ranked buckets of the team. Within a bucket,
    with R = cumulative eligible residual charges and I = cumulative token
    events up to a charge's instant, the tokens lost so far (charged while the
    bucket was empty) are max(0, max of R - I over the eligible charges up to
    this one); a charge draws its residual minus the growth of that loss. This
    closed form assumes the bucket's balance is never negative just before a
    charge; the test assert_ledger_balance_never_negative guards it.

    A level only carries the charges it can still change: a charge joins at
    the rank of its first eligible bucket and leaves once nothing is left of
    it or no eligible bucket of a higher rank remains (its residual is then
    unallocated); a charge without any eligible bucket is unallocated
    entirely. Charges that a level leaves out draw nothing from its bucket,
    exactly as if they were carried with a residual of 0 or not eligible, so
    the result equals the level-by-level replay of every charge, at about the
    cost of one pass over the charges. Each level references the previous one
    once (a chain), and Spark refuses window functions in a recursive CTE, so
    the levels are unrolled at compile time.
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
    {%- set drawn -%}
        case
            when inflow_to_charge is not null then residual - (
                greatest(coalesce(max(cumulative - inflow_to_charge) over (
                    {{ charge_order }}
                ), 0), 0)
                - greatest(coalesce(max(cumulative - inflow_to_charge) over (
                    {{ charge_order_before }}
                ), 0), 0)
            )
            else 0
        end
    {%- endset -%}
    charge_ranks as (
        select
            c.usage_id,
            c.team_id,
            c.usage_date,
            c.charge_ts,
            c.tokens,
            r.first_rank,
            r.last_rank
        from {{ charges }} as c
        left join (
            select
                usage_id,
                min(bucket_rank) as first_rank,
                max(bucket_rank) as last_rank
            from {{ inflows }}
            group by usage_id
        ) as r
            on c.usage_id = r.usage_id
    ),
    {% for k in range(1, depth + 1) %}
        level_{{ k }}_cumulated as (
            select
                carried.*,
                bucket.subscription_id,
                bucket.inflow_to_charge,
                sum(case when bucket.usage_id is not null then carried.residual else 0 end) over (
                    partition by carried.team_id
                    order by carried.charge_ts, carried.usage_id
                    rows between unbounded preceding and current row
                ) as cumulative
            from (
                select
                    usage_id,
                    team_id,
                    usage_date,
                    charge_ts,
                    tokens as residual,
                    last_rank
                from charge_ranks
                where first_rank = {{ k }}
                {%- if k > 1 %}
                    union all
                    select
                        usage_id,
                        team_id,
                        usage_date,
                        charge_ts,
                        residual_after as residual,
                        last_rank
                    from level_{{ k - 1 }}
                    where residual_after > 0 and last_rank > {{ k - 1 }}
                {%- endif %}
            ) as carried
            left join {{ inflows }} as bucket
                on carried.usage_id = bucket.usage_id and bucket.bucket_rank = {{ k }}
        ),

        level_{{ k }} as (
            select
                usage_id,
                team_id,
                usage_date,
                charge_ts,
                last_rank,
                subscription_id,
                {{ drawn }} as tokens_drawn,
                residual - {{ drawn }} as residual_after
            from level_{{ k }}_cumulated
        ),
    {% endfor %}

    drawdown_draws as (
        {%- for k in range(1, depth + 1) %}
            select
                usage_id,
                team_id,
                usage_date,
                charge_ts,
                subscription_id,
                tokens_drawn
            from level_{{ k }}
            where tokens_drawn > 0
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ),

    drawdown_unallocated as (
        select
            usage_id,
            team_id,
            usage_date,
            charge_ts,
            tokens
        from charge_ranks
        where first_rank is null
        {%- for k in range(1, depth + 1) %}
            union all
            select
                usage_id,
                team_id,
                usage_date,
                charge_ts,
                residual_after as tokens
            from level_{{ k }}
            where residual_after > 0 and last_rank = {{ k }}
        {%- endfor %}
    )
{%- endmacro %}
