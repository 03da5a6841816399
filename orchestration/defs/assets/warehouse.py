"""Warehouse assets: every dbt model (staging -> intermediate -> marts -> reports).

dbt tests become Dagster asset checks. The as-of date reaches dbt in the environment
variable ``FLEX_AS_OF_DATE``; the whole project is built with one ``dbt build`` invocation.
The build (like the ingest) withdraws the reports' release; ``reports_release`` grants it again
once every blocking check upstream of it has passed.
"""

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.config import RefreshConfig, newest_report_date, run_as_of
from orchestration.defs.pools import WRITER_POOL
from orchestration.defs.project import dbt_project
from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.faults import crash_point
from orchestration.settings import ENV_AS_OF, ENV_WAREHOUSE
from orchestration.spark import export_raw_to_parquet, write_spark_catalog
from orchestration.warehouse import connect, release, withdraw_release

# dbt's message in a failure line is cut to this many characters (the rest is in its logs).
DBT_MESSAGE_WIDTH = 240
# Per-run dbt target folders kept for inspection (run_results.json, compiled SQL).
KEEP_DBT_INVOCATIONS = 10
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# dbt's own setting for the level of the dbt.log kept in each invocation's folder. By
# default that log is written at info (each node's start, end and error) rather than debug
# (every statement): the debug lines cost a tenth of a small build's CPU, and the SQL of each
# model and test stays in the invocation's run/ and compiled/ folders.
ENV_DBT_FILE_LOG_LEVEL = "DBT_LOG_LEVEL_FILE"
DEFAULT_DBT_FILE_LOG_LEVEL = "info"
# A build from scratch whose raw layer holds at least this many usage rows runs on one dbt
# thread (build_threads; the measurements are in docs/DECISIONS.md).
ONE_THREAD_FROM_USAGE_ROWS = 6_000_000


def parse_state_file(warehouse_file: Path) -> Path:
    """Where the last build of ``warehouse_file`` left dbt's parse state (next to the file)."""
    return warehouse_file.with_name(f"{warehouse_file.name}.{PARTIAL_PARSE_FILE}")


def invocation_target(run_id: str, warehouse_file: Path) -> Path:
    """A new per-run dbt target folder, holding the parse state of the warehouse's last build.

    dagster-dbt would seed it from the project's ``target/`` (`make manifest`), which
    matches only the default warehouse path: dbt parses the whole project again when
    the profile (the warehouse path) differs. The state of this warehouse's own last
    build matches it; dbt still re-parses every file changed since, and everything
    after a dbt upgrade.
    """
    project = dbt_project()
    name = f"warehouse_models-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target = project.project_dir.joinpath(project.target_path, name)
    target.mkdir(parents=True)
    state = parse_state_file(warehouse_file)
    if state.exists():
        shutil.copyfile(state, target / PARTIAL_PARSE_FILE)
    return target


def keep_parse_state(target: Path, warehouse_file: Path) -> None:
    """Keep the parse state dbt wrote in ``target`` for the warehouse's next build."""
    written = target / PARTIAL_PARSE_FILE
    if written.exists():
        state = parse_state_file(warehouse_file)
        partial = state.with_name(f"{state.name}.tmp")
        shutil.copyfile(written, partial)
        os.replace(partial, state)


def prune_invocation_dirs(target: Path, keep: int = KEEP_DBT_INVOCATIONS) -> list[Path]:
    """Delete all but the ``keep`` newest per-run dbt target folders; the ones deleted.

    dagster-dbt gives every build its own folder under ``target/`` (about 12 MB:
    manifest, compiled SQL, run results); a nightly schedule would otherwise grow
    it by gigabytes a year. A folder touched in the last hour is never deleted,
    so a build running next to this one keeps its files.
    """
    runs = sorted(target.glob("warehouse_models-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    recent = time.time() - 3600
    stale = [p for p in runs[keep:] if p.stat().st_mtime < recent]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def build_threads(warehouse_file: Path, full_refresh: bool) -> int | None:
    """dbt threads for this build: 1 for a large build from scratch, else None (the profile's 2).

    The large models of a build from scratch each keep both cores busy inside DuckDB, and
    side by side they spill more to disk; a nightly build's many small queries gain from a
    second thread (docs/DECISIONS.md). From scratch: asked for (``full_refresh``), or the
    usage history not built yet; large: ONE_THREAD_FROM_USAGE_ROWS raw usage rows or more,
    from DuckDB's table statistics (no scan; rows deleted since the last checkpoint may
    still count). Only a matter of speed: a file that cannot be read gives None, and dbt
    reports what is wrong with it. The caller holds the writer lock.
    """
    try:
        with connect(warehouse_file, read_only=True) as con:
            sizes = dict(
                con.execute(
                    "select schema_name || '.' || table_name, estimated_size from duckdb_tables()"
                    " where schema_name || '.' || table_name"
                    " in ('raw.usage', 'main.stg_usage_history')"
                ).fetchall()
            )
    except duckdb.Error:
        return None
    from_scratch = full_refresh or "main.stg_usage_history" not in sizes
    large = sizes.get("raw.usage", 0) >= ONE_THREAD_FROM_USAGE_ROWS
    return 1 if from_scratch and large else None


def model_row_counts(
    reports_file: Path,
    output_names: set[str],
    context: dg.AssetExecutionContext,
    count_views: bool = False,
) -> dict[str, int]:
    """Rows of each built model (by output name), read from the warehouse just written.

    Views of the DuckDB warehouse get no count: counting one runs its whole query (at large,
    4-5 s a night for the on-demand views and the staging views over the raw layer). The
    Spark build's catalog is views over Parquet tables, whose counts are in the files'
    footers: ``count_views`` counts them. The caller holds the writer lock, so the file is
    opened directly (not through the shared reader lock, which would wait for that very lock).
    """
    kinds = "('BASE TABLE', 'VIEW')" if count_views else "('BASE TABLE')"
    tables = {name: context.asset_key_for_output(name).path[-1] for name in output_names}
    con = duckdb.connect(str(reports_file), read_only=True)
    try:
        existing = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables"
                f" where table_schema = 'main' and table_type in {kinds}"
            ).fetchall()
        }
        counts = {}
        for name, table in tables.items():
            if table in existing:
                [(counts[name],)] = con.execute(f'select count(*) from main."{table}"').fetchall()
        return counts
    finally:
        con.close()


def null_columns(warehouse_file: Path, compiled_sql: str) -> str:
    """``nulls in email (1 row)``: what a failed ``columns_not_null`` test found, or "".

    Re-runs the test's compiled query (one scan of the model) on the DuckDB file once dbt
    has exited; the caller holds the writer lock. Any error gives "" (dbt's count stays).
    """
    try:
        con = duckdb.connect(str(warehouse_file), read_only=True)
        try:
            rows = con.execute(compiled_sql).fetchall()
        finally:
            con.close()
        found = [f"{column} ({n:,} row{'s' if n != 1 else ''})" for column, n in rows]
    except (duckdb.Error, TypeError, ValueError):
        return ""
    return f"nulls in {', '.join(found)}" if found else ""


def dbt_failures(
    target_path: Path, manifest: Mapping[str, Any], warehouse_file: Path | None = None
) -> list[str]:
    """One line per dbt node that errored or failed: kind, name, file and dbt's message.

    Read from the build's ``run_results.json``; empty when dbt wrote none (it failed
    before running any node). Given the DuckDB ``warehouse_file`` (not on Spark), a failed
    ``columns_not_null`` test also names the columns that hold nulls.
    """
    try:
        results = json.loads((target_path / "run_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []
    lines = []
    for result in results:
        if result.get("status") not in ("error", "fail"):
            continue
        unique_id = result["unique_id"]
        node = manifest.get("nodes", {}).get(unique_id, {})
        kind = node.get("resource_type", unique_id.split(".", 1)[0])
        name = node.get("name", unique_id.rsplit(".", 1)[-1])
        path = node.get("original_file_path")
        message = " ".join((result.get("message") or result["status"]).split())
        message = re.sub(rf"^\w+ Error in {kind} {re.escape(name)} \([^)]*\):? ?", "", message)
        test = (node.get("test_metadata") or {}).get("name")
        if test == "columns_not_null" and result["status"] == "fail" and warehouse_file:
            found = null_columns(warehouse_file, result.get("compiled_code") or "")
            message = f"{found}; {message}" if found else message
        if len(message) > DBT_MESSAGE_WIDTH:
            message = message[: DBT_MESSAGE_WIDTH - 1] + "…"
        lines.append(f"{kind} {name}" + (f" ({path})" if path else "") + f": {message}")
    return lines


def _layer(dbt_resource_props: Mapping[str, Any]) -> str:
    folders = dbt_resource_props.get("fqn", [])[1:-1]
    return folders[0] if folders else "warehouse"


class LayeredTranslator(DagsterDbtTranslator):
    """Keys and groups dbt models by layer folder: ``reports/rpt_summary``, ...

    Sources keep the default key ``[source, table]``, so ``raw/usage`` links the
    dbt staging models to the ingest assets.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "model":
            return dg.AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] != "model":
            return super().get_group_name(dbt_resource_props)
        return _layer(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=LayeredTranslator(),
    pool=WRITER_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    config: RefreshConfig,
    dbt: DbtCliResource,
    landing: LandingResource,
    warehouse: WarehouseResource,
):
    """Build and test every model for the run's as-of date."""
    as_of = run_as_of(context, config.as_of, lambda: newest_report_date(landing.folder))
    # profiles.yml reads the warehouse path (and the Spark folders) from the environment,
    # the models the report date.
    os.environ[ENV_WAREHOUSE] = str(warehouse.file)
    os.environ[ENV_AS_OF] = as_of.isoformat()
    spark = warehouse.spark
    # Unit tests check the SQL, not the data: `make test` runs them, the nightly build need not.
    args = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        *(
            []
            if ENV_DBT_FILE_LOG_LEVEL in os.environ
            else ["--log-level-file", DEFAULT_DBT_FILE_LOG_LEVEL]
        ),
        *(["--full-refresh"] if config.full_refresh else []),
    ]
    with warehouse.write_lock():
        withdraw_release(warehouse.file)
        threads = None if spark else build_threads(warehouse.file, config.full_refresh)
        if threads:
            args += ["--threads", str(threads)]
            context.log.info(f"a large build from scratch: dbt runs on {threads} thread")
        if spark:
            rows = export_raw_to_parquet(warehouse.file, spark.raw_dir)
            context.log.info(f"raw layer copied to Parquet for Spark: {rows}")
            os.environ.update(spark.dbt_env())
        target = invocation_target(context.run.run_id, warehouse.file)
        invocation = dbt.cli(args, context=context, target_path=target)
        events = []
        try:
            for built, event in enumerate(invocation.stream(), start=1):
                if built == 5:
                    crash_point("dbt.mid_build")
                events.append(event)
        except Exception as err:
            yield from events  # what did build stays recorded; the step then fails
            failures = dbt_failures(
                invocation.target_path, invocation.manifest, None if spark else warehouse.file
            )
            if not failures:
                raise
            raise dg.Failure(
                description="the dbt build failed:\n" + "\n".join(failures),
                metadata={"failures": dg.MetadataValue.json(failures)},
            ) from err
        finally:
            keep_parse_state(target, warehouse.file)
        if spark:
            write_spark_catalog(spark.warehouse_dir, spark.catalog_file)
        # Counted once dbt has exited: its process holds the DuckDB file while it runs.
        counts = model_row_counts(
            warehouse.reports_file,
            {e.output_name for e in events if isinstance(e, dg.Output)},
            context,
            count_views=bool(spark),
        )
    prune_invocation_dirs(invocation.target_path.parent)
    for event in events:
        if isinstance(event, dg.Output) and event.output_name in counts:
            event = event.with_metadata(
                {
                    **event.metadata,
                    "dagster/row_count": dg.MetadataValue.int(counts[event.output_name]),
                }
            )
        yield event


REPORT_MODELS = sorted(
    (key for key in warehouse_models.keys if key.path[0] == "reports"),
    key=lambda key: key.to_user_string(),
)


@dg.asset(
    key=["reports", "release"],
    deps=REPORT_MODELS,
    group_name="reports",
    description="Marks the reports of the as-of date as checked; exports read only those.",
)
def reports_release(
    context: dg.AssetExecutionContext,
    config: RefreshConfig,
    landing: LandingResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Runs only when every report model was built and no blocking check failed upstream."""
    as_of = run_as_of(context, config.as_of, lambda: newest_report_date(landing.folder))
    release(warehouse.file, as_of, context.run.run_id)
    return dg.MaterializeResult(metadata={"as_of": as_of.isoformat()})
