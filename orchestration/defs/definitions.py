"""The Dagster code location: assets, checks, jobs, schedule, sensors and resources."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.delivery import DELIVERY_ASSETS
from orchestration.assets.exports import team_workbook
from orchestration.assets.ingest import raw_deliveries, user_hashes
from orchestration.assets.on_demand import on_demand_export_job
from orchestration.assets.quality import QUALITY_CHECKS
from orchestration.assets.warehouse import dbt_project, reports_release, warehouse_models
from orchestration.jobs import (
    exports_after_refresh,
    exports_job,
    new_delivery_sensor,
    nightly_refresh,
    refresh_job,
)
from orchestration.resources import ExportsResource, LandingResource, WarehouseResource
from orchestration.settings import Settings, dbt_executable


def build_resources(settings: Settings) -> dict:
    """Resources for a landing folder, warehouse file and exports folder."""
    return {
        "landing": LandingResource(path=str(settings.landing_dir)),
        "warehouse": WarehouseResource(
            path=str(settings.warehouse), dbt_target=settings.dbt_target
        ),
        "exports": ExportsResource(path=str(settings.exports_dir)),
        "dbt": DbtCliResource(
            project_dir=dbt_project(),
            dbt_executable=dbt_executable(),
            target=settings.dbt_target,
            global_config_flags=["--no-use-colors"],
        ),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            raw_deliveries,
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
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
