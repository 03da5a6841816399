{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'rpt_subscriptions'}}}) }}
-- Warning: packs active or expired on D that the Subscriptions identity does not apply to (a
-- token event dated after the pack's end_date, or a negative balance at the end of D when
-- active or of end_date when expired). Their figures are reported as they are.
select
    subs.team_id,
    subs.subscription_id,
    subs.status
from {{ ref('rpt_subscriptions') }} as subs
inner join ({{ pack_identity_scope() }}) as scope
    on subs.team_id = scope.team_id and subs.subscription_id = scope.subscription_id
where scope.status in ('Active', 'Expired') and not scope.identity_applies
