"""The Dagster code location: the one ``Definitions`` (assets, checks, jobs, schedule,
sensors and resources), loaded by ``dagster dev`` / the webserver from
``[tool.dagster] module_name``."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.assets.delivery import DELIVERY_ASSETS
from orchestration.defs.assets.exports import team_workbook
from orchestration.defs.assets.gate import gate_failures
from orchestration.defs.assets.ingest import raw_deliveries, user_hashes
from orchestration.defs.assets.warehouse import reports_release, warehouse_models
from orchestration.defs.checks import QUALITY_CHECKS
from orchestration.defs.jobs import exports_job, on_demand_export_job, refresh_job
from orchestration.defs.resources import env_resources
from orchestration.defs.schedules import nightly_refresh
from orchestration.defs.sensors import exports_after_refresh, new_delivery_sensor


def build_definitions(resources: dict) -> dg.Definitions:
    """Everything the code location holds, with ``resources`` (see ``defs.resources``)."""
    return dg.Definitions(
        assets=[
            raw_deliveries,
            gate_failures,
            user_hashes,
            warehouse_models,
            reports_release,
            team_workbook,
            *DELIVERY_ASSETS,
        ],
        asset_checks=QUALITY_CHECKS,
        jobs=[refresh_job, exports_job, on_demand_export_job],
        schedules=[nightly_refresh],
        sensors=[new_delivery_sensor, exports_after_refresh],
        resources=resources,
    )


defs = build_definitions(env_resources())
