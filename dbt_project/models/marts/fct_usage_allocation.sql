{{ config(materialized=on_demand_materialization()) }}
-- The drawdown's draws per charge and pack. Read on demand (analysts, the reconciliation
-- tests), never by the nightly reports or exports: a view of the drawdown's entries on DuckDB.
select
    usage_id,
    team_id,
    subscription_id,
    usage_date,
    charge_ts,
    tokens_drawn
from {{ ref('int_usage_allocation') }}
