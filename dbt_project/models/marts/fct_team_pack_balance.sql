-- Per (team, pack held) as of D: tokens in, tokens drawn, balance at the end
-- of D, and how the balance splits into remaining (pack active on D) and
-- expired (balance at the end of end_date, pack expired on D).
with drawn as (
    select
        team_id,
        subscription_id,
        sum(tokens_drawn) as tokens_drawn
    from {{ ref('int_usage_allocation') }}
    group by team_id, subscription_id
),

balances as (
    select
        l.team_id,
        l.subscription_id,
        case
            when {{ as_of_date() }} < l.start_date then 'Not started'
            when {{ as_of_date() }} > l.end_date then 'Expired'
            else 'Active'
        end as status,
        l.tokens_in,
        l.tokens_in_to_end_date,
        coalesce(d.tokens_drawn, 0) as tokens_drawn
    from {{ ref('int_team_pack_ledger') }} as l
    left join drawn as d
        on l.team_id = d.team_id and l.subscription_id = d.subscription_id
)

select
    team_id,
    subscription_id,
    status,
    cast(tokens_in as {{ dbt.type_bigint() }}) as tokens_in,
    cast(tokens_drawn as {{ dbt.type_bigint() }}) as tokens_drawn,
    cast(tokens_in - tokens_drawn as {{ dbt.type_bigint() }}) as balance,
    cast(
        case
            when status = 'Expired' then greatest(tokens_in_to_end_date - tokens_drawn, 0)
            else 0
        end as {{ dbt.type_bigint() }}
    ) as expired_tokens,
    cast(
        case when status = 'Active' then greatest(tokens_in - tokens_drawn, 0) else 0 end
        as {{ dbt.type_bigint() }}
    ) as remaining_tokens
from balances
