"""Environment variables and their defaults, read at call time (never at import)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

ENV_LANDING = "FLEX_LANDING_DIR"
ENV_WAREHOUSE = "FLEX_WAREHOUSE"
ENV_EXPORTS = "FLEX_EXPORTS_DIR"
ENV_PII_KEY = "FLEX_PII_HASH_KEY"
ENV_REJECT_THRESHOLD = "FLEX_REJECT_THRESHOLD"
ENV_DBT_TARGET = "FLEX_DBT_TARGET"


def dbt_executable() -> str:
    """The dbt installed next to this Python (the virtual environment's), so dbt runs
    whether or not that environment's ``bin`` folder is on PATH."""
    return str(Path(sys.executable).parent / "dbt")


@dataclass(frozen=True)
class Settings:
    """Where the landing folder, the warehouse and the exports live."""

    landing_dir: Path
    warehouse: Path
    exports_dir: Path
    reject_threshold: float
    dbt_target: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            landing_dir=Path(os.environ.get(ENV_LANDING, "landing")).resolve(),
            warehouse=Path(os.environ.get(ENV_WAREHOUSE, "warehouse/flex_usage.duckdb")).resolve(),
            exports_dir=Path(os.environ.get(ENV_EXPORTS, "exports")).resolve(),
            reject_threshold=float(os.environ.get(ENV_REJECT_THRESHOLD, "0.01")),
            dbt_target=os.environ.get(ENV_DBT_TARGET, "duckdb"),
        )
