"""Dagster resources: every setting of a run (landing, warehouse, exports, dbt target and
Spark folders, reject threshold, hashing key), configured from its environment variable.

:func:`env_resources` configures them with ``dg.EnvVar`` (resolved when a run or a
sensor tick starts, not when the code location loads); a variable that is unset keeps
the documented default. The CLI builds the same resources from its options with
:func:`build_resources`.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging import version

from orchestration import warehouse as wh
from orchestration.defs.project import dbt_project
from orchestration.delivery.retention import ENV_KEEP_DAYS, ENV_ON_DEMAND_KEEP_DAYS
from orchestration.delivery.transport import (
    ENV_MAIL_FROM,
    ENV_SMTP_PASSWORD,
    ENV_SMTP_TIMEOUT,
    ENV_SMTP_URL,
)
from orchestration.locks import writer_lock
from orchestration.settings import (
    DEFAULT_REJECT_THRESHOLD,
    ENV_DBT_TARGET,
    ENV_EXPORTS,
    ENV_LANDING,
    ENV_PII_KEY,
    ENV_REJECT_THRESHOLD,
    ENV_WAREHOUSE,
    Settings,
    dbt_executable,
    reject_threshold,
)
from orchestration.spark import ENV_SPARK_RAW_DIR, ENV_SPARK_WAREHOUSE_DIR, SparkLayout


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Writers take the file's writer lock; readers open read-only.

    On the ``spark`` dbt target, the Spark folders (empty: next to the DuckDB file).
    """

    path: str
    dbt_target: str = "duckdb"
    spark_warehouse_dir: str = ""
    spark_raw_dir: str = ""
    lock_wait_seconds: float = 600.0

    @property
    def file(self) -> Path:
        return Path(self.path).resolve()

    @property
    def spark(self) -> SparkLayout | None:
        """The Spark build's folders, on the ``spark`` target; else None."""
        if self.dbt_target != "spark":
            return None
        return SparkLayout.of(self.file, self.spark_warehouse_dir, self.spark_raw_dir)

    @property
    def reports_file(self) -> Path:
        """Where the built reports are read from (the warehouse, or the Spark catalog)."""
        return self.spark.catalog_file if self.spark else self.file

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
        return Path(self.path).resolve()


class ExportsResource(dg.ConfigurableResource):
    """The folder that receives the workbooks and on-demand exports."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path).resolve()


class RejectGateResource(dg.ConfigurableResource):
    """The reject-rate gate's limit: largest share of quarantined rows per delivery file."""

    threshold: str = str(DEFAULT_REJECT_THRESHOLD)

    @property
    def limit(self) -> float:
        try:
            return reject_threshold(self.threshold)
        except ValueError as err:
            raise dg.Failure(description=f"{ENV_REJECT_THRESHOLD}: {err}") from err


class PrivacyResource(dg.ConfigurableResource):
    """The secret key of ``hashed_autodesk_id`` (HMAC-SHA256); empty when not configured."""

    hash_key: str = ""


class MailResource(dg.ConfigurableResource):
    """How the admin e-mails leave: an SMTP server, or (no URL) the exports outbox folder.

    Each field holds the text of its environment variable (empty = unset), so the
    delivery library reads them exactly as documented for those variables.
    """

    smtp_url: str = ""
    smtp_password: str = ""
    mail_from: str = ""
    smtp_timeout_seconds: str = ""

    def settings(self) -> dict[str, str]:
        """The non-empty settings, keyed by their environment variable's name."""
        values = {
            ENV_SMTP_URL: self.smtp_url,
            ENV_SMTP_PASSWORD: self.smtp_password,
            ENV_MAIL_FROM: self.mail_from,
            ENV_SMTP_TIMEOUT: self.smtp_timeout_seconds,
        }
        return {name: value for name, value in values.items() if value}


class RetentionResource(dg.ConfigurableResource):
    """How many days nightly and on-demand export folders are kept (empty = the default)."""

    keep_days: str = ""
    on_demand_keep_days: str = ""

    def settings(self) -> dict[str, str]:
        """The non-empty settings, keyed by their environment variable's name."""
        values = {ENV_KEEP_DAYS: self.keep_days, ENV_ON_DEMAND_KEEP_DAYS: self.on_demand_keep_days}
        return {name: value for name, value in values.items() if value}


def _delivery_resources() -> dict:
    """Mail and retention settings, each from its environment variable when set."""
    return {
        "mail": MailResource(
            smtp_url=_setting(ENV_SMTP_URL, ""),
            smtp_password=_setting(ENV_SMTP_PASSWORD, ""),
            mail_from=_setting(ENV_MAIL_FROM, ""),
            smtp_timeout_seconds=_setting(ENV_SMTP_TIMEOUT, ""),
        ),
        "retention": RetentionResource(
            keep_days=_setting(ENV_KEEP_DAYS, ""),
            on_demand_keep_days=_setting(ENV_ON_DEMAND_KEEP_DAYS, ""),
        ),
    }


def _setting(name: str, default: str) -> str:
    """``dg.EnvVar(name)`` when the variable is set, else ``default``."""
    return dg.EnvVar(name) if name in os.environ else default


class ProjectDbtResource(DbtCliResource):
    """dagster-dbt's dbt resource without two start-up costs the project has no use for.

    * It is told the installed dbt-core version instead of asking: dagster-dbt otherwise
      starts ``dbt --version`` before every build (about 1.8 s of CPU) only to read it; the
      ``dbt`` it runs is this environment's dbt-core.
    * It opens no dbt adapter in the Dagster process: dagster-dbt otherwise loads the
      project, profile and every macro (about 2.4 s) before starting dbt, for its optional
      row counts and column metadata, which the project does not fetch that way (the
      warehouse asset counts rows itself once dbt has exited).
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


def _dbt(target: str) -> DbtCliResource:
    project = dbt_project()
    return ProjectDbtResource(
        project_dir=str(project.project_dir),
        profiles_dir=str(project.profiles_dir),
        dbt_executable=dbt_executable(),
        target=target,
        global_config_flags=["--no-use-colors"],
    )


def env_resources() -> dict:
    """The code location's resources, each setting read from its environment variable."""
    defaults = Settings.defaults()
    target = _setting(ENV_DBT_TARGET, defaults.dbt_target)
    return {
        "landing": LandingResource(path=_setting(ENV_LANDING, str(defaults.landing_dir))),
        "warehouse": WarehouseResource(
            path=_setting(ENV_WAREHOUSE, str(defaults.warehouse)),
            dbt_target=target,
            spark_warehouse_dir=_setting(ENV_SPARK_WAREHOUSE_DIR, ""),
            spark_raw_dir=_setting(ENV_SPARK_RAW_DIR, ""),
        ),
        "exports": ExportsResource(path=_setting(ENV_EXPORTS, str(defaults.exports_dir))),
        "reject_gate": RejectGateResource(
            threshold=_setting(ENV_REJECT_THRESHOLD, str(defaults.reject_threshold))
        ),
        "privacy": PrivacyResource(hash_key=_setting(ENV_PII_KEY, "")),
        "dbt": _dbt(target),
        **_delivery_resources(),
    }


def build_resources(settings: Settings) -> dict:
    """The same resources with the given values (the CLI's options over the environment)."""
    return {
        "landing": LandingResource(path=str(settings.landing_dir)),
        "warehouse": WarehouseResource(
            path=str(settings.warehouse),
            dbt_target=settings.dbt_target,
            spark_warehouse_dir=settings.spark_warehouse_dir,
            spark_raw_dir=settings.spark_raw_dir,
        ),
        "exports": ExportsResource(path=str(settings.exports_dir)),
        "reject_gate": RejectGateResource(threshold=str(settings.reject_threshold)),
        "privacy": PrivacyResource(hash_key=settings.pii_hash_key),
        "dbt": _dbt(settings.dbt_target),
        **_delivery_resources(),  # the CLI has no options for these: its environment
    }
