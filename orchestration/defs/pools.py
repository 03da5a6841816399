"""Concurrency pools: every step that writes the DuckDB file takes a slot of
``duckdb_writer`` (limit 1 in ``orchestration/dagster.yaml``)."""

WRITER_POOL = "duckdb_writer"
