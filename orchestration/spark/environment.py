"""Environment of a dbt run on the `spark` target (profile output in dbt_project/profiles.yml)."""

from __future__ import annotations

from pathlib import Path

ENV_DBT_TARGET = "FLEX_DBT_TARGET"
ENV_SPARK_WAREHOUSE_DIR = "FLEX_SPARK_WAREHOUSE_DIR"
ENV_SPARK_RAW_DIR = "FLEX_SPARK_RAW_DIR"

# Schema of the dbt models on Spark (the profile's `schema`); DuckDB uses `main`.
SPARK_SCHEMA = "flex"


def spark_dbt_env(warehouse_dir: Path, raw_dir: Path) -> dict[str, str]:
    """Variables that point dbt at a local Spark warehouse and the raw Parquet folder.

    Paths are made absolute: Spark resolves relative table locations against its own
    working directory, not against the dbt project.
    """
    return {
        ENV_DBT_TARGET: "spark",
        ENV_SPARK_WAREHOUSE_DIR: str(Path(warehouse_dir).resolve()),
        ENV_SPARK_RAW_DIR: str(Path(raw_dir).resolve()),
    }
