"""Dagster assets, one module per domain: ingest, gate, warehouse (dbt), exports,
delivery, on-demand."""
