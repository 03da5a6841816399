"""One benchmark task per process: ``python -m bench.worker <task> '<json arguments>'``.

Prints the task's result as one JSON line. The refresh task runs ``pipeline.refresh`` on
a Dagster instance of its own (``DAGSTER_HOME`` set by the caller) and reads the step
times of the runs it started from that instance's event log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import floors, peer


def generate(landing: str, start: str, end: str, teams: int) -> dict:
    from tools.generate import generate_landing

    began = time.perf_counter()
    summary = generate_landing(
        Path(landing), date.fromisoformat(start), date.fromisoformat(end), teams=teams
    )
    return {
        "seconds": time.perf_counter() - began,
        "rows": summary.usage_records,
        "usage_rows": summary.usage_rows,
        "teams": summary.teams,
        "users": summary.users,
        "days": summary.days,
    }


def _step_times(started_after: float) -> dict[str, list[float]]:
    """step key -> [start, end] (epoch seconds) of the steps of runs started after a time."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    steps: dict[str, list[float]] = {}
    for run in instance.get_runs():
        for record in instance.all_logs(run.run_id, of_type=kinds):
            if record.timestamp < started_after or record.step_key is None:
                continue
            times = steps.setdefault(record.step_key, [record.timestamp, record.timestamp])
            times[0], times[1] = min(times[0], record.timestamp), max(times[1], record.timestamp)
    return steps


# the drawdown (the timeline of draws per team, its allocation table) and its audit balances
DRAWDOWN_MODELS = {
    "int_drawdown_entries",
    "int_usage_allocation",
    "fct_usage_allocation",
    "int_audited_charges",
    "int_pack_balance_periods",
}


def _dbt_node_seconds(started_after: float) -> dict[str, float]:
    """Execution seconds of the newest dbt build started after a time, by node kind.

    ``report_models`` are the models of the reports layer (the folder ``models/reports``:
    ``rpt_*`` and the ``int_*`` models they share), read from the build's manifest: the
    report stage. ``drawdown_models`` are the drawdown and its audit (DRAWDOWN_MODELS).
    Nodes may run on several threads, so the sums can exceed the build's wall time.
    """
    from orchestration.settings import DBT_PROJECT_DIR

    found = [
        path
        for path in (DBT_PROJECT_DIR / "target").glob("*/run_results.json")
        if path.stat().st_mtime >= started_after
    ]
    if not found:
        return {}
    newest = max(found, key=lambda p: p.stat().st_mtime)
    results = json.loads(newest.read_text())["results"]
    nodes = json.loads((newest.parent / "manifest.json").read_text())["nodes"]
    kinds = {"report_models": 0.0, "drawdown_models": 0.0, "models": 0.0, "tests": 0.0}
    for node in results:
        kind = node["unique_id"].split(".", 1)[0]
        seconds = node["execution_time"]
        if kind == "model":
            kinds["models"] += seconds
            if nodes[node["unique_id"]]["fqn"][1] == "reports":
                kinds["report_models"] += seconds
            if nodes[node["unique_id"]]["name"] in DRAWDOWN_MODELS:
                kinds["drawdown_models"] += seconds
        elif kind == "test":
            kinds["tests"] += seconds
    return {key: round(value, 3) for key, value in kinds.items()}


def refresh(landing: str, as_of: str, warehouse: str, exports: str) -> dict:
    from orchestration.pipeline import refresh as run_refresh

    day = date.fromisoformat(as_of)
    wall_start = time.time()
    began = time.perf_counter()
    result = run_refresh(Path(landing), day, Path(warehouse), Path(exports))
    seconds = time.perf_counter() - began
    shape = floors.export_shape(Path(warehouse), day)
    rows, cells = floors.shape_totals(shape)
    return {
        "seconds": seconds,
        "start": wall_start,
        "deliveries": len(result.deliveries_ingested),
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "workbooks": len(result.workbooks),
        "export_rows": rows,
        "export_cells": cells,
        "steps": _step_times(wall_start),
        "dbt_nodes": _dbt_node_seconds(wall_start),
    }


def drawdown_rebuild(warehouse: str, as_of: str) -> dict:
    """The drawdown models (DRAWDOWN_MODELS) rebuilt from scratch, alone, on a built
    warehouse: `dbt run --full-refresh` of those models only, without their tests, in a dbt
    process of its own. ``seconds`` is the sum of their execution times (as
    ``drawdown_models`` of a refresh, but with no other model beside them);
    ``models`` each model's seconds. The warehouse is left as a full build would leave it
    (the downstream incremental tables compare every charge at their next build)."""
    from orchestration.settings import DBT_PROJECT_DIR, ENV_AS_OF, ENV_DBT_TARGET, ENV_WAREHOUSE

    env = {**os.environ, ENV_WAREHOUSE: warehouse, ENV_AS_OF: as_of, ENV_DBT_TARGET: "duckdb"}
    with tempfile.TemporaryDirectory(prefix="flex_bench_dbt_") as target:
        command = [str(Path(sys.executable).with_name("dbt")), "run", "--full-refresh"]
        command += ["--select", *sorted(DRAWDOWN_MODELS), "--target-path", target]
        subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, check=True, capture_output=True)
        results = json.loads((Path(target) / "run_results.json").read_text())["results"]
    models = {
        r["unique_id"].rsplit(".", 1)[-1]: round(r["execution_time"], 3)
        for r in results
        if r["unique_id"].startswith("model.")
    }
    assert set(models) == DRAWDOWN_MODELS, models
    return {"seconds": sum(models.values()), "models": models}


def on_demand(warehouse: str, team: str, fmt: str, as_of: str, exports: str) -> dict:
    from orchestration.exports import export_on_demand

    day = date.fromisoformat(as_of)
    first, last = floors.on_demand_range(day)
    began = time.perf_counter()
    paths = export_on_demand(Path(warehouse), team, ["usage"], fmt, first, last, day, Path(exports))
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "bytes": sum(p.stat().st_size for p in paths)}


def ingest_floor(landing: str, as_of: str, database: str) -> dict:
    return floors.ingest_floor(Path(landing), date.fromisoformat(as_of), Path(database))


def compute_floor(warehouse: str, as_of: str) -> dict:
    return floors.compute_floor(Path(warehouse), date.fromisoformat(as_of))


def export_floor(warehouse: str, as_of: str) -> dict:
    return floors.export_floor(Path(warehouse), date.fromisoformat(as_of))


def pandas_peer(landing: str, as_of: str, warehouse: str) -> dict:
    return peer.run_peer(Path(landing), date.fromisoformat(as_of), Path(warehouse))


TASKS = {
    f.__name__: f
    for f in (
        generate,
        refresh,
        drawdown_rebuild,
        on_demand,
        ingest_floor,
        compute_floor,
        export_floor,
        pandas_peer,
    )
}


def main(argv: list[str]) -> None:
    task, arguments = argv
    result = TASKS[task](**json.loads(arguments))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
