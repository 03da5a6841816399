"""Dagster resources: the warehouse file, the landing folder and the exports folder."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from orchestration import warehouse as wh
from orchestration.ingest.deliveries import default_as_of, discover, utc_today
from orchestration.locks import writer_lock


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Writers take the file's writer lock; readers open read-only."""

    path: str
    dbt_target: str = "duckdb"
    lock_wait_seconds: float = 600.0

    @property
    def file(self) -> Path:
        return Path(self.path)

    @property
    def reports_file(self) -> Path:
        """Where the built reports are read from (the warehouse, or the Spark catalog)."""
        return wh.reports_file(self.file, self.dbt_target)

    @contextlib.contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with writer_lock(self.file, self.lock_wait_seconds):
            con = wh.connect(self.file)
            try:
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """The writer lock alone, for writers that open the file themselves (dbt)."""
        with writer_lock(self.file, self.lock_wait_seconds):
            yield


class LandingResource(dg.ConfigurableResource):
    """The folder where upstream writes one delivery folder per day."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path)


class ExportsResource(dg.ConfigurableResource):
    """The folder that receives the workbooks and on-demand exports."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path)


class RefreshConfig(dg.Config):
    """Run configuration shared by the refresh assets."""

    as_of: str = Field(
        default="",
        description="Report date YYYY-MM-DD; empty = the newest complete "
        "delivery dated on or before today (UTC).",
    )
    full_refresh: bool = Field(
        default=False, description="Rebuild incremental dbt models from scratch."
    )

    def as_of_date(self, landing: Path) -> date:
        """The given date, else the newest complete delivery dated on or before today (UTC)."""
        if self.as_of:
            return date.fromisoformat(self.as_of)
        today = utc_today()
        as_of = default_as_of(discover(landing, None), today)
        if as_of is None:
            raise dg.Failure(
                f"no complete delivery dated on or before {today} in {landing}: "
                "nothing to report on"
            )
        return as_of
