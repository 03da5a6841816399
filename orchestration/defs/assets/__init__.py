"""Dagster assets, one module per domain: ingest, warehouse (dbt), exports."""
