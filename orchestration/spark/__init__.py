"""Running the dbt project on Apache Spark instead of DuckDB (see docs/SPARK.md).

A Spark build, in order: :func:`export_raw_to_parquet` copies the DuckDB raw layer to
``SparkLayout.raw_dir``; ``dbt build`` runs with ``SparkLayout.dbt_env()`` (its
on-run-start hook declares the Parquet files as Spark tables); :func:`write_spark_catalog`
then exposes the built tables to the exports as a DuckDB file (``SparkLayout.catalog_file``).
"""

from .catalog import SparkCatalogError, write_spark_catalog
from .environment import (
    ENV_SPARK_RAW_DIR,
    ENV_SPARK_WAREHOUSE_DIR,
    SPARK_SCHEMA,
    SparkLayout,
)
from .raw_export import export_raw_to_parquet

__all__ = [
    "ENV_SPARK_RAW_DIR",
    "ENV_SPARK_WAREHOUSE_DIR",
    "SPARK_SCHEMA",
    "SparkCatalogError",
    "SparkLayout",
    "export_raw_to_parquet",
    "write_spark_catalog",
]
