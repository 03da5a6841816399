"""Partitions: the raw tables by delivery date, the exports by team (both dynamic)."""

import dagster as dg

DELIVERIES_NAME = "deliveries"
TEAMS_NAME = "teams"
DELIVERIES = dg.DynamicPartitionsDefinition(name=DELIVERIES_NAME)
TEAMS = dg.DynamicPartitionsDefinition(name=TEAMS_NAME)
