"""Ingestion of landing deliveries into the DuckDB raw layer (no Dagster here).

``deliveries.discover`` finds complete delivery folders, ``loader.pending``
keeps the new or re-delivered ones and ``loader.ingest`` verifies, validates
and loads one of them.
"""
