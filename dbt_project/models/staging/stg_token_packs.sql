{{ config(materialized=staging_materialization()) }}

-- Token packs (Flex subscriptions) as of D: the newest snapshot, plus the latest valid version
-- of every pack it lacks (from_newest_snapshot = false), so earlier token events keep their
-- pack and the drawdown its dates and size.
select
    cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
    cast(contract_number as {{ dbt.type_string() }}) as contract_number,
    cast(team_id as {{ dbt.type_string() }}) as purchasing_team_id,
    cast(offering_name as {{ dbt.type_string() }}) as offering_name,
    cast(term as {{ dbt.type_string() }}) as term,
    cast(tokens_purchased as {{ dbt.type_bigint() }}) as tokens_purchased,
    cast(purchase_date as date) as purchase_date,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(reseller_name as {{ dbt.type_string() }}) as reseller_name,
    cast(reseller_email as {{ dbt.type_string() }}) as reseller_email,
    delivery_date,
    cast(from_newest_snapshot as {{ dbt.type_boolean() }}) as from_newest_snapshot
from ({{ snapshot_with_fallback('token_packs', 'subscription_id') }}) as snapshot_rows
