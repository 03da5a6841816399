"""Jobs: the refresh, the nightly exports and the on-demand export."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.assets.on_demand import on_demand_export

EXPORT_ASSETS = dg.AssetSelection.groups("exports")
refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.all() - EXPORT_ASSETS,
    description="Ingest pending deliveries, hash users, build and test every dbt model.",
)
exports_job = dg.define_asset_job(
    "exports_job",
    selection=EXPORT_ASSETS,
    description=(
        "Write the nightly workbook of the selected teams, e-mail them to their admins, "
        "write the index and remove expired export folders."
    ),
)


@dg.job(description="On-demand export of Subscriptions, Users and/or Usage for one team.")
def on_demand_export_job():
    on_demand_export()
