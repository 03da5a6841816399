"""Environment variables, their defaults and where the project lives.

Read at call time, never at import. Inside Dagster the settings reach the assets,
sensors and the schedule as resources (:mod:`orchestration.defs.resources`); the CLI
reads them here and hands the same resources its options.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

ENV_LANDING = "FLEX_LANDING_DIR"
ENV_WAREHOUSE = "FLEX_WAREHOUSE"
ENV_EXPORTS = "FLEX_EXPORTS_DIR"
ENV_PII_KEY = "FLEX_PII_HASH_KEY"
ENV_REJECT_THRESHOLD = "FLEX_REJECT_THRESHOLD"
ENV_DBT_TARGET = "FLEX_DBT_TARGET"
# The report date D of a dbt build (YYYY-MM-DD), read by the macro as_of_date().
ENV_AS_OF = "FLEX_AS_OF_DATE"
ENV_SPARK_WAREHOUSE_DIR = "FLEX_SPARK_WAREHOUSE_DIR"
ENV_SPARK_RAW_DIR = "FLEX_SPARK_RAW_DIR"

DEFAULT_LANDING = "landing"
DEFAULT_WAREHOUSE = "warehouse/flex_usage.duckdb"
DEFAULT_EXPORTS = "exports"
DEFAULT_REJECT_THRESHOLD = 0.01
DEFAULT_DBT_TARGET = "duckdb"


def dbt_executable() -> str:
    """The dbt installed next to this Python (the virtual environment's), so dbt runs
    whether or not that environment's ``bin`` folder is on PATH."""
    return str(Path(sys.executable).parent / "dbt")


def reject_threshold(text: str | float) -> float:
    """The reject-rate limit given as text: a share between 0 and 1."""
    try:
        limit = float(text)
    except ValueError:
        raise ValueError(f"reject threshold must be a number, got {text!r}") from None
    if not 0 <= limit <= 1:
        raise ValueError(f"reject threshold must be between 0 and 1, got {limit}")
    return limit


@dataclass(frozen=True)
class Settings:
    """Where the landing folder, the warehouse and the exports live, and the run's knobs."""

    landing_dir: Path
    warehouse: Path
    exports_dir: Path
    reject_threshold: float
    dbt_target: str
    pii_hash_key: str = field(default="", repr=False)
    # Spark target only; empty = next to the DuckDB file (see orchestration.spark).
    spark_warehouse_dir: str = ""
    spark_raw_dir: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            landing_dir=Path(os.environ.get(ENV_LANDING, DEFAULT_LANDING)).resolve(),
            warehouse=Path(os.environ.get(ENV_WAREHOUSE, DEFAULT_WAREHOUSE)).resolve(),
            exports_dir=Path(os.environ.get(ENV_EXPORTS, DEFAULT_EXPORTS)).resolve(),
            reject_threshold=float(
                os.environ.get(ENV_REJECT_THRESHOLD, str(DEFAULT_REJECT_THRESHOLD))
            ),
            dbt_target=os.environ.get(ENV_DBT_TARGET, DEFAULT_DBT_TARGET),
            pii_hash_key=os.environ.get(ENV_PII_KEY, ""),
            spark_warehouse_dir=os.environ.get(ENV_SPARK_WAREHOUSE_DIR, ""),
            spark_raw_dir=os.environ.get(ENV_SPARK_RAW_DIR, ""),
        )

    @classmethod
    def defaults(cls) -> Settings:
        """The documented defaults (relative paths resolved against the working folder)."""
        return cls(
            landing_dir=Path(DEFAULT_LANDING).resolve(),
            warehouse=Path(DEFAULT_WAREHOUSE).resolve(),
            exports_dir=Path(DEFAULT_EXPORTS).resolve(),
            reject_threshold=DEFAULT_REJECT_THRESHOLD,
            dbt_target=DEFAULT_DBT_TARGET,
        )
