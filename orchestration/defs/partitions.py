"""Partitions: the raw tables by delivery date, the exports by team (both dynamic)."""

import dagster as dg

DELIVERIES = dg.DynamicPartitionsDefinition(name="deliveries")
TEAMS = dg.DynamicPartitionsDefinition(name="teams")
