{% macro pack_identity_scope() %}
    {#-
        Per (team, pack held): status on D and whether the Subscriptions identity applies:
        active or expired, no token event dated after end_date, and a balance not negative at
        the end of D (active) or of end_date (expired). Built from the marts, not the report.
    -#}
    select
        balances.team_id,
        balances.subscription_id,
        balances.status,
        (
            balances.status = 'Active' and balances.balance >= 0
            or balances.status = 'Expired'
            and ledger.tokens_in_to_end_date - balances.tokens_drawn >= 0
        )
        and ledger.event_count = coalesce(in_term.events, 0) as identity_applies
    from {{ ref('fct_team_pack_balance') }} as balances
    inner join {{ ref('int_team_pack_ledger') }} as ledger
        on
            balances.team_id = ledger.team_id
            and balances.subscription_id = ledger.subscription_id
    left join (
        select
            events.team_id,
            events.subscription_id,
            count(*) as events
        from {{ ref('fct_token_ledger') }} as events
        inner join {{ ref('dim_pack') }} as packs
            on events.subscription_id = packs.subscription_id
        where events.event_date <= packs.end_date
        group by events.team_id, events.subscription_id
    ) as in_term
        on
            balances.team_id = in_term.team_id
            and balances.subscription_id = in_term.subscription_id
{% endmacro %}
