"""`make bench`: generate deliveries at a scale, then measure in one run on that data

* the product: generation, full refresh from an empty warehouse, the nightly refresh
  (one more delivery, as-of one day later), split by stage; the on-demand 365-day Usage
  export of the largest team in xlsx and csv;
* the floors (``bench.floors``) and the pandas peer (``bench.peer``);
* last, the drawdown models rebuilt from scratch alone (their cost without any other
  model beside them);

then write ``bench/results/<scale>.json`` and print a markdown summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb

from bench.measure import TaskRun, disk_mb, run_task
from bench.report import evaluate_targets, markdown
from bench.scales import SCALES, Scale
from orchestration.settings import DBT_PROJECT_DIR

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCH_HASH_KEY = "flex-usage-bench-key"  # synthetic data only
STAGES = {  # stage -> Dagster step keys of the refresh and exports runs
    "ingest": ("raw_deliveries",),
    "user_hashes": ("raw__user_hashes",),
    "dbt": ("warehouse_models",),
    # the workbooks, then their e-mail (outbox), the index and retention
    "exports": (
        "exports__team_workbook",
        "exports__admin_delivery",
        "exports__index",
        "exports__retention",
    ),
}
CHECKS = "checks"  # every other step: the Great Expectations asset checks


def _figure(seconds: float, rows: int, peak_mb: float, cpu: float, **extra: object) -> dict:
    return {
        "seconds": round(seconds, 3),
        "rows": rows,
        "rows_per_second": round(rows / seconds, 1) if seconds > 0 else None,
        "cpu_seconds": cpu,
        "rows_per_cpu_second": round(rows / cpu, 1) if cpu > 0 else None,
        "peak_rss_mb": peak_mb,
        **extra,
    }


def _task_figure(run: TaskRun, rows: int, **extra: object) -> dict:
    """A task timed inside its worker; CPU seconds of the whole worker process tree."""
    return _figure(run.result["seconds"], rows, run.peak_rss_mb, run.cpu_seconds, **extra)


def _refresh_figures(run: TaskRun, warehouse: Path, usage_rows: int) -> dict:
    """The refresh as a whole and per stage (from the Dagster step times)."""
    result, steps = run.result, run.result["steps"]
    rows = {
        "ingest": result["rows_loaded"],
        "user_hashes": 0,
        "dbt": usage_rows,
        "checks": 0,
        "exports": result["export_rows"],
    }
    named = {key for keys in STAGES.values() for key in keys}
    groups = {**STAGES, CHECKS: tuple(key for key in steps if key not in named)}
    stages: dict[str, dict] = {}
    for stage, keys in groups.items():
        spans = [steps[k] for k in keys if k in steps]
        if not spans:
            continue
        start, end = min(s[0] for s in spans), max(s[1] for s in spans)
        seconds = sum(s[1] - s[0] for s in spans)
        stages[stage] = _figure(
            seconds,
            rows[stage],
            run.peak_rss_mb_between(start, end),
            sum(run.cpu_seconds_between(*span) for span in spans),
        )
    stages["dbt"]["node_seconds"] = result["dbt_nodes"]
    stages["exports"]["cells"] = result["export_cells"]
    stages["exports"]["workbooks"] = result["workbooks"]
    other = result["seconds"] - sum(s["seconds"] for s in stages.values())
    other_cpu = run.cpu_seconds - sum(s["cpu_seconds"] for s in stages.values())
    stages["dagster_overhead"] = _figure(other, 0, run.peak_rss_mb, round(other_cpu, 2))
    return {
        **_figure(result["seconds"], result["rows_loaded"], run.peak_rss_mb, run.cpu_seconds),
        "deliveries": result["deliveries"],
        "warehouse_mb": disk_mb(warehouse),
        "stages": stages,
    }


def _spans(run: TaskRun) -> str:
    """Step seconds of a refresh, for the progress lines."""
    return str({key: round(end - start, 1) for key, (start, end) in run.result["steps"].items()})


def _largest_team(warehouse: Path, scale: Scale) -> tuple[str, int]:
    """The active team with the most usage rows as of the scale's last day."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT s.team_id, count(u.usage_id) AS n FROM main.rpt_summary s "
            "JOIN main.fct_usage u USING (team_id) WHERE s.as_of_date = ? "
            "GROUP BY s.team_id ORDER BY n DESC, s.team_id LIMIT 1",
            [scale.end],
        ).fetchone()
    finally:
        con.close()


def _count(warehouse: Path, sql: str) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def machine_load() -> dict:
    """CPU count and 1/5/15-minute load averages now, and whether the machine is busy.

    Busy: the 1-minute load average is above half the cores (other work competes with the
    bench, so its seconds are not comparable).
    """
    cores = os.cpu_count() or 1
    load = [round(x, 2) for x in os.getloadavg()]
    return {"cores": cores, "load_average": load, "busy": load[0] > 0.5 * cores}


def wait_until_quiet(max_seconds: float, poll_seconds: float = 5.0) -> tuple[dict, float]:
    """The machine's load once it is no longer busy, or after ``max_seconds``; and the
    seconds waited. The 1-minute load average takes a minute or two to decay after other
    work, such as `make bench`'s own install and parse just before it."""
    load, waited = machine_load(), 0.0
    while load["busy"] and waited < max_seconds:
        time.sleep(poll_seconds)
        waited += poll_seconds
        load = machine_load()
    return load, waited


def bench(scale: Scale, workdir: Path, settle_seconds: float = 0) -> dict:
    """Run every measurement of ``scale`` with its files under ``workdir``; the figures.
    Waits up to ``settle_seconds`` for the machine to be quiet first."""
    say = partial(print, flush=True)
    load, waited = wait_until_quiet(settle_seconds)
    if waited:
        say(f"[bench] waited {waited:.0f}s for the load average to settle")
    landing, warehouse = workdir / "landing", workdir / "warehouse" / "flex_usage.duckdb"
    exports = workdir / "exports"
    env = {
        "DAGSTER_HOME": str(workdir / "dagster_home"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "FLEX_PII_HASH_KEY": os.environ.get("FLEX_PII_HASH_KEY", BENCH_HASH_KEY),
    }
    Path(env["DAGSTER_HOME"]).mkdir(parents=True)
    if load["busy"]:
        say(
            f"[bench] WARNING: the machine is busy (load average {load['load_average'][0]} on "
            f"{load['cores']} cores): timings will not be comparable"
        )
    say(f"[bench] {scale.name}: generating {scale.teams} teams, {scale.start}..{scale.end}")
    gen = run_task("generate", landing=landing, start=scale.start, end=scale.end, teams=scale.teams)
    say(f"[bench] generated {gen.result['rows']} usage records in {gen.seconds:.1f}s")
    floor_in = run_task(
        "ingest_floor", landing=landing, as_of=scale.full_as_of, database=workdir / "floor.duckdb"
    )
    say(f"[bench] ingest floor {floor_in.result['seconds']:.1f}s; full refresh...")
    full = run_task(
        "refresh", env, landing=landing, as_of=scale.full_as_of, warehouse=warehouse,
        exports=exports,
    )  # fmt: skip
    full_usage = _count(warehouse, "SELECT count(*) FROM main.fct_usage")
    say(f"[bench] full refresh {full.result['seconds']:.1f}s {_spans(full)}; nightly refresh...")
    nightly = run_task(
        "refresh", env, landing=landing, as_of=scale.end, warehouse=warehouse, exports=exports
    )
    nightly_usage = _count(warehouse, "SELECT count(*) FROM main.fct_usage")
    say(f"[bench] nightly refresh {nightly.result['seconds']:.1f}s {_spans(nightly)}")
    team, team_rows = _largest_team(warehouse, scale)
    on_demand = {}
    for fmt in ("xlsx", "csv"):
        run = run_task(
            "on_demand", warehouse=warehouse, team=team, fmt=fmt, as_of=scale.end, exports=exports
        )
        on_demand[fmt] = _task_figure(run, team_rows, bytes=run.result["bytes"])
    say("[bench] on-demand exports done; floors and peer...")
    compute = run_task("compute_floor", warehouse=warehouse, as_of=scale.end)
    export = run_task("export_floor", warehouse=warehouse, as_of=scale.end)
    say(f"[bench] compute floor {compute.result['seconds']:.1f}s, export floor "
        f"{export.result['seconds']:.1f}s; pandas peer...")  # fmt: skip
    pandas_peer = run_task("pandas_peer", landing=landing, as_of=scale.end, warehouse=warehouse)
    # last: it rebuilds the drawdown, which the measurements above read
    drawdown = run_task("drawdown_rebuild", warehouse=warehouse, as_of=scale.end)
    say(f"[bench] drawdown rebuilt alone {drawdown.result['seconds']:.1f} node s")
    return {
        "scale": scale.name,
        "teams": gen.result["teams"],
        "users": gen.result["users"],
        "days": gen.result["days"],
        "usage_rows": gen.result["usage_rows"],
        "usage_records": gen.result["rows"],
        "machine": {
            "cores": load["cores"],
            "load_average_at_start": load["load_average"],
            "busy_at_start": load["busy"],
            "waited_for_quiet_s": waited,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generation": _task_figure(gen, gen.result["rows"], landing_mb=disk_mb(landing)),
        "full_refresh": _refresh_figures(full, warehouse, full_usage),
        "nightly_refresh": _refresh_figures(nightly, warehouse, nightly_usage),
        "drawdown_rebuilt_alone": _figure(
            drawdown.result["seconds"],
            full_usage,
            drawdown.peak_rss_mb,
            drawdown.cpu_seconds,
            models=drawdown.result["models"],
        ),
        "on_demand_usage_365d": {"team_id": team, **on_demand},
        "floors": {
            "ingest": _task_figure(
                floor_in,
                floor_in.result["rows"],
                files=floor_in.result["files"],
                usage_seconds=floor_in.result["usage_seconds"],
            ),  # fmt: skip
            "compute": _task_figure(
                compute,
                compute.result["rows"],
                tokens_by_day_rows=compute.result["tokens_by_day_rows"],
            ),  # fmt: skip
            "export": _task_figure(
                export,
                export.result["rows"],
                cells=export.result["cells"],
                workbooks=export.result["workbooks"],
            ),  # fmt: skip
        },
        "peer": {
            "pandas": _task_figure(pandas_peer, pandas_peer.result["usage_rows"]),
            "figures": pandas_peer.result["figures"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="output folder")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--settle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the machine to be quiet (default: do not wait)",
    )
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"flex_bench_{scale.name}_"))
    if args.workdir is not None and workdir.exists() and any(workdir.iterdir()):
        parser.error(f"--workdir {workdir} is not empty")
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        figures = bench(scale, workdir.resolve(), args.settle)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["targets"] = evaluate_targets(figures)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"{scale.name}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(markdown(figures))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
