"""The benchmark harness end to end at the tiny scale (3 teams, 3 weeks).

Timings are reported, never asserted: the test checks that every figure is there, that
the row counts are consistent, and that the pandas peer's figures equal the product's.
"""

import json
from datetime import date

import pytest

from bench import run, worker
from bench.ranges import time_ranges
from bench.report import evaluate_targets
from bench.scales import SCALES
from orchestration.exports import EXCEL_MAX_ROWS, write_all_workbooks, write_team_workbook
from orchestration.exports.reader import DuckDBReportSource
from orchestration.exports.workbook import write_workbook

FIGURE = {"seconds", "rows", "rows_per_second", "cpu_seconds", "rows_per_cpu_second", "peak_rss_mb"}
STAGES = {"ingest", "user_hashes", "dbt", "checks", "exports", "dagster_overhead"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench") / "work"


@pytest.fixture(scope="module")
def result(tmp_path_factory, workdir):
    out = tmp_path_factory.mktemp("results")
    args = ["--scale", "tiny", "--results", str(out), "--workdir", str(workdir), "--keep"]
    assert run.main(args) == 0
    return json.loads((out / "tiny.json").read_text())


@pytest.mark.bench
def test_every_figure_is_reported(result):
    assert result["scale"] == "tiny"
    assert (result["teams"], result["days"]) == (3, 21)
    assert result["usage_rows"] > 0 and result["users"] > 0 and result["machine"]["cores"] >= 1
    figures = [result["generation"], result["full_refresh"], result["nightly_refresh"]]
    figures += [result["on_demand_usage_365d"][fmt] for fmt in ("xlsx", "csv")]
    figures += list(result["floors"].values()) + [result["peer"]["pandas"]]
    figures.append(result["drawdown_rebuilt_alone"])
    assert set(result["drawdown_rebuilt_alone"]["models"]) == worker.DRAWDOWN_MODELS
    for refresh in ("full_refresh", "nightly_refresh"):
        assert set(result[refresh]["stages"]) == STAGES
        nodes = result[refresh]["stages"]["dbt"]["node_seconds"]
        assert 0 < nodes["report_models"] < nodes["models"] and nodes["tests"] > 0
        figures += list(result[refresh]["stages"].values())
        assert result[refresh]["warehouse_mb"] > 0
    for figure in figures:
        assert figure.keys() >= FIGURE
        assert figure["seconds"] > 0 and figure["peak_rss_mb"] > 0


@pytest.mark.bench
def test_counts_are_consistent(result):
    full, nightly, floors = result["full_refresh"], result["nightly_refresh"], result["floors"]
    assert full["deliveries"] == 20 and nightly["deliveries"] == 1  # as-of moved one day
    # The export floor writes exactly the rows and cells of the nightly workbooks.
    assert floors["export"]["rows"] == nightly["stages"]["exports"]["rows"] > 0
    assert floors["export"]["cells"] == nightly["stages"]["exports"]["cells"]
    # Tokens by day: 365 rows per active team, in the compute floor and in the peer.
    tokens_by_day = result["peer"]["figures"]["tokens_by_day"]
    assert tokens_by_day["product_rows"] == 365 * floors["export"]["workbooks"]
    assert floors["compute"]["tokens_by_day_rows"] == tokens_by_day["product_rows"]


@pytest.mark.bench
def test_peer_figures_equal_the_product(result):
    for name, check in result["peer"]["figures"].items():
        assert check["product_rows"] > 0, name
        assert check["mismatches"] == 0, name
        assert check["peer_rows"] == check["product_rows"], name


@pytest.mark.bench
def test_every_target_is_evaluated(result):
    assert result["targets"] == evaluate_targets(result)
    assert len(result["targets"]) == 11
    assert all(isinstance(t["met"], bool) for t in result["targets"].values())


@pytest.mark.bench
def test_batched_export_reads_give_the_same_workbooks(result, workdir, tmp_path):
    # The nightly exports read each report once for a run of teams; every workbook must
    # be byte-identical to the one written from per-team queries.
    warehouse = workdir / "warehouse" / "flex_usage.duckdb"
    as_of = SCALES["tiny"].end
    with DuckDBReportSource(warehouse) as source:
        teams = source.active_teams(as_of)
        assert len(teams) == result["floors"]["export"]["workbooks"] >= 2
        sequence = source.for_teams(teams, as_of)
        batched = [
            write_workbook(sequence, team, as_of, tmp_path / "batched", EXCEL_MAX_ROWS)
            for team in teams
        ]
        sequence.close()
    for team, path in zip(teams, batched, strict=True):
        single = write_team_workbook(warehouse, team, as_of, tmp_path / "single")
        assert single.read_bytes() == path.read_bytes(), team
    assert write_all_workbooks(warehouse, as_of, tmp_path / "all", workers=1) == [
        tmp_path / "all" / p.relative_to(tmp_path / "batched") for p in batched
    ]


def test_time_ranges_follow_the_reporting_rules():
    # The reporting rules' examples: L is the most recent fully completed month.
    assert time_ranges(date(2026, 11, 27))[1] == (
        "Past 3 months",
        date(2026, 8, 1),
        date(2026, 10, 31),
        3,
    )
    assert time_ranges(date(2026, 11, 30))[1][1:3] == (date(2026, 9, 1), date(2026, 11, 30))
    assert time_ranges(date(2026, 1, 15))[4][1:3] == (date(2025, 1, 1), date(2025, 12, 31))
    assert time_ranges(date(2026, 11, 27))[0][1:3] == (date(2026, 10, 29), date(2026, 11, 27))


@pytest.mark.bench
def test_ingest_floor_reads_all_seven_files_of_every_delivery(result, workdir):
    as_of = SCALES["tiny"].full_as_of
    manifests = [
        json.loads(path.read_text())
        for path in (workdir / "landing").glob("*/manifest.json")
        if date.fromisoformat(path.parent.name) <= as_of
    ]
    floor = result["floors"]["ingest"]
    assert floor["files"] == 7 * len(manifests) == 7 * result["full_refresh"]["deliveries"]
    assert floor["rows"] == sum(f["rows"] for m in manifests for f in m["files"].values())
    assert 0 < floor["usage_seconds"] <= floor["seconds"]


@pytest.mark.bench
def test_machine_load_is_recorded_and_judged(result, monkeypatch):
    machine = result["machine"]
    assert len(machine["load_average_at_start"]) == 3
    assert machine["busy_at_start"] == (machine["load_average_at_start"][0] > machine["cores"] / 2)
    monkeypatch.setattr(run.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(run.os, "getloadavg", lambda: (2.01, 0.5, 0.5))
    assert run.machine_load() == {"cores": 4, "load_average": [2.01, 0.5, 0.5], "busy": True}
    monkeypatch.setattr(run.os, "getloadavg", lambda: (2.0, 3.0, 3.0))
    assert run.machine_load()["busy"] is False


def test_the_bench_waits_for_a_quiet_machine_within_its_limit(monkeypatch):
    loads = iter([(1.8, 1.0, 1.0), (1.2, 1.0, 1.0), (0.4, 1.0, 1.0)])
    slept = []
    monkeypatch.setattr(run.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(run.os, "getloadavg", lambda: next(loads))
    monkeypatch.setattr(run.time, "sleep", slept.append)
    load, waited = run.wait_until_quiet(60, poll_seconds=5)
    assert (load["load_average"][0], load["busy"], waited, slept) == (0.4, False, 10, [5, 5])
    monkeypatch.setattr(run.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    slept.clear()
    load, waited = run.wait_until_quiet(12, poll_seconds=5)
    assert (load["busy"], waited, len(slept)) == (True, 15, 3), "gives up after its limit"
