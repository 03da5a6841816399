"""Running the dbt project on Apache Spark instead of DuckDB (see docs/SPARK.md).

The DuckDB raw layer is copied to Parquet (:mod:`.raw_export`), declared as Spark
tables by dbt's on-run-start hook, and the tables Spark builds are exposed to the
exports again as DuckDB views (:mod:`.catalog`).
"""

from .catalog import SparkCatalogError, write_spark_catalog
from .environment import ENV_SPARK_RAW_DIR, ENV_SPARK_WAREHOUSE_DIR, SPARK_SCHEMA, spark_dbt_env
from .raw_export import export_raw_to_parquet

__all__ = [
    "ENV_SPARK_RAW_DIR",
    "ENV_SPARK_WAREHOUSE_DIR",
    "SPARK_SCHEMA",
    "SparkCatalogError",
    "export_raw_to_parquet",
    "spark_dbt_env",
    "write_spark_catalog",
]
