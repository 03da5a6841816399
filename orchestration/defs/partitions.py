"""Partitions: the exports by team (dynamic, one key per active team)."""

import dagster as dg

TEAMS_NAME = "teams"
TEAMS = dg.DynamicPartitionsDefinition(name=TEAMS_NAME)
