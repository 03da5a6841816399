"""The Dagster wiring: assets, checks, jobs, schedules, sensors, partitions, pools and
resources, gathered into one ``Definitions`` in :mod:`orchestration.defs.definitions`.

Only this package (and the entry points above it: pipeline, CLI, dev server) imports
Dagster; the libraries it wires (ingest, checks, exports, delivery, spark, privacy,
warehouse, locks) do not.
"""
