{{ config(meta={'dagster': {'ref': {'name': 'rpt_subscriptions'}}}) }}
-- Subscriptions identity, per row. A pack that has not started has nothing used, remaining or
-- expired. A pack active or expired on D with no token event dated after its end_date and
-- whose balance is not negative at the end of D (active) or of its end_date (expired) keeps
-- tokens_received - tokens_sent + adjustments = tokens_used + tokens_remaining + tokens_expired.
-- Packs outside those conditions are listed by warn_report_packs_outside_identity.
select
    subs.team_id,
    subs.subscription_id,
    subs.status,
    subs.tokens_received,
    subs.tokens_sent,
    subs.adjustments,
    subs.tokens_used,
    subs.tokens_remaining,
    subs.tokens_expired
from {{ ref('rpt_subscriptions') }} as subs
inner join ({{ pack_identity_scope() }}) as scope
    on subs.team_id = scope.team_id and subs.subscription_id = scope.subscription_id
where (
    subs.status = 'Not started'
    and (subs.tokens_used <> 0 or subs.tokens_remaining <> 0 or subs.tokens_expired <> 0)
)
or (
    scope.identity_applies
    and subs.tokens_received - subs.tokens_sent + subs.adjustments
    <> subs.tokens_used + subs.tokens_remaining + subs.tokens_expired
)
