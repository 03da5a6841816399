{#-
    The drawdown of `charges` (usage_id, team_key: an integer per team,
    usage_date, charge_ts, tokens > 0, any other columns) against `steps`
    (bucket_inflow_steps: each bucket's cumulative token events as a step
    function of time), as common table expressions to splice into a model's
    WITH list. charge_ranks holds every charge with its charge_seq (its
    number in its team's time order); the last two CTEs are drawdown_draws
    (team_key, charge_seq, bucket_rank, tokens_drawn > 0: one row per charge
    and bucket it drew from) and drawdown_unallocated (team_key, charge_seq,
    tokens: what no bucket could cover, when positive). Only integer keys,
    the day, the instant and amounts travel through the levels: the caller
    joins the charges' ids and the packs back once, through charge_ranks.

    Buckets are processed level by level (bucket_rank 1, 2, ...): what a
    bucket gives depends only on its own token events and on the charges'
    residuals left by the lower-ranked buckets of the team. Within a bucket,
    with R = cumulative eligible residual charges and I = cumulative token
    events up to a charge's instant, the tokens lost so far (charged while the
    bucket was empty) are max(0, max of R - I over the eligible charges up to
    this one); a charge draws its residual minus the growth of that loss. This
    closed form assumes the bucket's balance is never negative just before a
    charge; the test assert_ledger_balance_never_negative guards it.
    drawdown_level_losses computes the loss, by adapter.

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
{% macro drawdown_level_ctes(charges, steps, depth) -%}
    charge_ranks as (
        -- each charge numbered in its team's time order, with the ranks of the first and
        -- last bucket active on its usage_date and, in the same pass, level 1's running
        -- total (the charges bucket 1 is active for: those whose first rank is 1)
        select
            c.*,
            r.first_rank,
            r.last_rank,
            row_number() over (
                partition by c.team_key
                order by c.charge_ts, c.usage_id
            ) as charge_seq,
            sum(case when r.first_rank = 1 then c.tokens else 0 end) over (
                partition by c.team_key
                order by c.charge_ts, c.usage_id
                rows between unbounded preceding and current row
            ) as first_level_cumulative
        from {{ charges }} as c
        left join (
            select
                d.team_key,
                d.usage_date,
                min(b.bucket_rank) as first_rank,
                max(b.bucket_rank) as last_rank
            from (select distinct team_key, usage_date from {{ charges }}) as d
            inner join (
                select distinct team_key, bucket_rank, start_date, end_date
                from {{ steps }}
            ) as b
                on
                    d.team_key = b.team_key
                    and d.usage_date >= b.start_date
                    and d.usage_date <= b.end_date
            group by d.team_key, d.usage_date
        ) as r
            on c.team_key = r.team_key and c.usage_date = r.usage_date
    ),
    {% for k in range(1, depth + 1) %}
        {%- set step_of_bucket -%}
            left join {{ steps }} as bucket
                on
                    carried.team_key = bucket.team_key
                    and bucket.bucket_rank = {{ k }}
                    and carried.usage_date >= bucket.start_date
                    and carried.usage_date <= bucket.end_date
                    and (bucket.from_ts is null or carried.charge_ts >= bucket.from_ts)
                    and (bucket.to_ts is null or carried.charge_ts < bucket.to_ts)
        {%- endset %}
        level_{{ k }}_cumulated as (
            -- bucket k's inflow up to each carried charge (null: bucket k is not active for
            -- it) and the running total of the carried charges it is active for
        {%- if k == 1 %}
            -- (bucket 1 is active for every charge level 1 carries)
            select
                carried.team_key,
                carried.charge_seq,
                carried.usage_date,
                carried.charge_ts,
                carried.tokens as residual,
                carried.last_rank,
                bucket.step_seq,
                bucket.inflow as inflow_to_charge,
                carried.first_level_cumulative as cumulative
            from charge_ranks as carried
            {{ step_of_bucket }}
            where carried.first_rank = 1
        {%- else %}
            select
                carried.*,
                bucket.step_seq,
                bucket.inflow as inflow_to_charge,
                sum(case when bucket.team_key is not null then carried.residual else 0 end) over (
                    partition by carried.team_key
                    order by carried.charge_seq
                    rows between unbounded preceding and current row
                ) as cumulative
            from (
                select
                    team_key,
                    charge_seq,
                    usage_date,
                    charge_ts,
                    tokens as residual,
                    last_rank
                from charge_ranks
                where first_rank = {{ k }}
                union all
                select
                    team_key,
                    charge_seq,
                    usage_date,
                    charge_ts,
                    residual_after as residual,
                    last_rank
                from level_{{ k - 1 }}
                where residual_after > 0 and last_rank > {{ k - 1 }}
            ) as carried
            {{ step_of_bucket }}
        {%- endif %}
        ),

        {{ drawdown_level_losses(k) }},

        level_{{ k }} as (
            select
                team_key,
                charge_seq,
                usage_date,
                charge_ts,
                last_rank,
                case
                    when inflow_to_charge is not null then residual - (lost_through - lost_before)
                    else 0
                end as tokens_drawn,
                case
                    when inflow_to_charge is not null then lost_through - lost_before
                    else residual
                end as residual_after
            from level_{{ k }}_losses
        ),
    {% endfor %}

    drawdown_draws as (
        {%- for k in range(1, depth + 1) %}
            select
                team_key,
                charge_seq,
                {{ k }} as bucket_rank,
                tokens_drawn
            from level_{{ k }}
            where tokens_drawn > 0
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ),

    drawdown_unallocated as (
        select
            team_key,
            charge_seq,
            tokens
        from charge_ranks
        where first_rank is null
        {%- for k in range(1, depth + 1) %}
            union all
            select
                team_key,
                charge_seq,
                residual_after as tokens
            from level_{{ k }}
            where residual_after > 0 and last_rank = {{ k }}
        {%- endfor %}
    )
{%- endmacro %}

{#-
    level_k_losses: each charge level k carries, with lost_through and lost_before, the
    tokens its bucket lost (charged while empty) through the charge and before it.
    Dispatched: DuckDB materializes a CTE read twice, Spark inlines every reference, so
    reading level_k_cumulated twice per level would double Spark's plan at each level.
-#}
{% macro drawdown_level_losses(k) -%}
    {{ return(adapter.dispatch('drawdown_level_losses', 'flex_usage')(k)) }}
{%- endmacro %}

{#-
    I is constant between two token events of the bucket (a step), so the running maximum
    only needs each step's last charge: the loss before a step is a window over the few
    steps, and each charge adds its own term by a join. A level from 2 on needs one window
    over its charges (the running total) instead of three, and level 1 none instead of two
    (its running total comes with the charges' numbering): 12.7-15.3 s against 15.7-17.8 s
    for the drawdown's SELECT at large. The figures equal the Spark form's in every case, a
    negative balance before a charge included: a charge that opens its step takes the loss
    before the step, not a shortfall computed with the step's inflow.
-#}
{% macro default__drawdown_level_losses(k) -%}
    level_{{ k }}_steps as (
        -- per step of bucket k (a stretch of constant inflow) holding carried charges it
        -- is active for: the running total before its first charge and the tokens lost
        -- before it. Within a step the running total only grows, so the largest shortfall
        -- (running total minus inflow) of a step is at its last charge, and the loss
        -- before a step is the largest shortfall of the steps before it.
        select
            team_key,
            step_seq,
            cumulative_before_step,
            greatest(coalesce(max(shortfall_at_end) over (
                partition by team_key
                order by step_seq
                rows between unbounded preceding and 1 preceding
            ), 0), 0) as lost_before_step
        from (
            select
                team_key,
                step_seq,
                min(cumulative - residual) as cumulative_before_step,
                max(cumulative) - min(inflow_to_charge) as shortfall_at_end
            from level_{{ k }}_cumulated
            where inflow_to_charge is not null
            group by team_key, step_seq
        ) as step_totals
    ),

    level_{{ k }}_losses as (
        -- tokens lost (charged while the bucket was empty) through and before each
        -- charge: the step's loss before it, or the charge's own shortfall if larger
        -- (the previous charge's, for the loss before, unless it opens the step). Every
        -- residual a level carries is positive (charges of 0 tokens are left out, and a
        -- level passes on only what is left), so the running total grows strictly: only
        -- the step's first charge has the step's smallest running total before it.
        select
            c.*,
            greatest(s.lost_before_step, c.cumulative - c.inflow_to_charge) as lost_through,
            case
                when c.cumulative - c.residual > s.cumulative_before_step
                    then greatest(s.lost_before_step, c.cumulative - c.residual - c.inflow_to_charge)
                else s.lost_before_step
            end as lost_before
        from level_{{ k }}_cumulated as c
        left join level_{{ k }}_steps as s
            on c.team_key = s.team_key and c.step_seq = s.step_seq
    )
{%- endmacro %}

{#- The running maximum and the previous charge's loss as windows over the charges (Spark). -#}
{% macro spark__drawdown_level_losses(k) -%}
    level_{{ k }}_losses as (
        select
            *,
            coalesce(lag(lost_through) over (
                partition by team_key
                order by charge_seq
            ), 0) as lost_before
        from (
            select
                *,
                greatest(coalesce(max(cumulative - inflow_to_charge) over (
                    partition by team_key
                    order by charge_seq
                    rows between unbounded preceding and current row
                ), 0), 0) as lost_through
            from level_{{ k }}_cumulated
        ) as through
    )
{%- endmacro %}
