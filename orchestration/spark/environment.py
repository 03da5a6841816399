"""Where a Spark build keeps its files, and the environment dbt's `spark` target reads.

The `spark` output of dbt_project/profiles.yml reads ``FLEX_SPARK_WAREHOUSE_DIR`` (managed
tables and metastore) and the on-run-start hook reads ``FLEX_SPARK_RAW_DIR`` (raw Parquet).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import ENV_DBT_TARGET, ENV_SPARK_RAW_DIR, ENV_SPARK_WAREHOUSE_DIR

# Schema of the dbt models on Spark (the profile's `schema`); DuckDB uses `main`.
SPARK_SCHEMA = "flex"
CATALOG_FILE = "reports_catalog.duckdb"


@dataclass(frozen=True)
class SparkLayout:
    """Folders of a local Spark build; all paths absolute."""

    warehouse_dir: Path
    raw_dir: Path

    @classmethod
    def of(cls, duckdb_file: Path, warehouse_dir: str = "", raw_dir: str = "") -> SparkLayout:
        """The given folders; by default ``spark/`` next to the DuckDB warehouse file and
        ``raw_parquet/`` inside it."""
        default = Path(duckdb_file).resolve().parent / "spark"
        managed = Path(warehouse_dir or default).resolve()
        return cls(managed, Path(raw_dir or managed / "raw_parquet").resolve())

    @classmethod
    def from_env(cls, duckdb_file: Path) -> SparkLayout:
        """:meth:`of` the folders the environment names (the CLI's route)."""
        return cls.of(
            duckdb_file,
            os.environ.get(ENV_SPARK_WAREHOUSE_DIR, ""),
            os.environ.get(ENV_SPARK_RAW_DIR, ""),
        )

    @property
    def catalog_file(self) -> Path:
        """The DuckDB file of views over the built tables (see :mod:`.catalog`)."""
        return self.warehouse_dir / CATALOG_FILE

    def dbt_env(self) -> dict[str, str]:
        """Variables that point a dbt run at this build (target `spark`).

        Paths are absolute: Spark resolves relative locations against its own working
        directory, not against the dbt project.
        """
        return {
            ENV_DBT_TARGET: "spark",
            ENV_SPARK_WAREHOUSE_DIR: str(self.warehouse_dir.resolve()),
            ENV_SPARK_RAW_DIR: str(self.raw_dir.resolve()),
        }
