"""The portal's Export button as a Dagster op (run by ``on_demand_export_job``)."""

from datetime import UTC, date, datetime

import dagster as dg
from pydantic import Field

from orchestration.defs.resources import ExportsResource, WarehouseResource
from orchestration.exports.errors import ExportRequestError
from orchestration.exports.on_demand import export_on_demand
from orchestration.warehouse import UncheckedReportsError, released_as_of


class OnDemandExportConfig(dg.Config):
    """What the admin chose: team, report types, format and (for Usage) a date range."""

    team_id: str
    types: list[str] = Field(description="subscriptions, users and/or usage")
    format: str = Field(default="xlsx", description="xlsx or csv")
    start: str = Field(default="", description="Usage from (YYYY-MM-DD); default: D - 29")
    end: str = Field(default="", description="Usage to (YYYY-MM-DD); default: D")
    as_of: str = Field(default="", description="report date; default: that of the checked reports")


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@dg.op(description="Validate the request and write the export atomically.")
def on_demand_export(
    context: dg.OpExecutionContext,
    config: OnDemandExportConfig,
    warehouse: WarehouseResource,
    exports: ExportsResource,
) -> None:
    try:
        as_of = released_as_of(warehouse.file, _day(config.as_of))
        paths = export_on_demand(
            warehouse.reports_file,
            config.team_id,
            [t.strip().lower() for t in config.types],
            config.format,
            _day(config.start),
            _day(config.end),
            as_of,
            exports.folder,
            now=datetime.now(UTC),
            confirm=lambda: released_as_of(warehouse.file, as_of),
        )
    except (ExportRequestError, UncheckedReportsError) as err:
        raise dg.Failure(description=f"export refused: {err}") from err
    for path in paths:
        context.log.info(f"wrote {path}")
