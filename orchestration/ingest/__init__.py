"""Ingestion of landing deliveries into the DuckDB raw layer (no Dagster here).

``deliveries.discover`` finds complete delivery folders, ``loader.pending``
keeps the new or re-delivered ones and ``batch.ingest_pending`` verifies,
validates and loads them set-based, a batch at a time; ``loader.ingest`` loads
one delivery file by file (the reference the set-based path must equal).
"""
