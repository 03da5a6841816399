{{ config(materialized=staging_materialization()) }}

-- Token events as of D: latest delivery per event_id, events dated after D dropped.
select
    cast(event_id as {{ dbt.type_string() }}) as event_id,
    cast(event_ts as {{ dbt.type_timestamp() }}) as event_ts,
    cast(event_ts as date) as event_date,
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(tokens as {{ dbt.type_bigint() }}) as tokens,
    cast(related_team_id as {{ dbt.type_string() }}) as related_team_id,
    delivery_date
from ({{ latest_increment('token_events', 'event_id') }}) as latest_rows
where cast(event_ts as date) <= {{ as_of_date() }}
