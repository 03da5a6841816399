"""The CLI refresh records its runs in the shared instance (DAGSTER_HOME), and the
new-delivery sensor of that instance starts nothing for what the CLI already loaded."""

import socket
import subprocess
import sys
from datetime import date

import dagster as dg
import pytest

from orchestration.defs.config import AS_OF_TAG
from orchestration.defs.resources import build_resources
from orchestration.defs.sensors import new_delivery_sensor
from orchestration.ingest.deliveries import discover
from orchestration.instance import TAG_CLI_HOST, TAG_CLI_PID, fail_abandoned_cli_runs
from orchestration.pipeline import refresh
from orchestration.settings import Settings
from tests.landing_builder import write_delivery
from tests.pipeline_support import set_pipeline_env, small_landing

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh instance folder, not yet created (the refresh creates it)."""
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_cli_runs_are_in_the_instance_and_the_sensor_waits_for_new_deliveries(
    tmp_path, monkeypatch, home
):
    landing = small_landing(tmp_path / "landing", end=date(2026, 1, 7), teams=2)
    warehouse, exports = tmp_path / "wh.duckdb", tmp_path / "exports"
    set_pipeline_env(monkeypatch, landing, warehouse, exports)

    result = refresh(landing, None, warehouse, exports)
    assert result.workbooks

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert {(r.job_name, r.status) for r in runs} == {
            ("refresh_job", dg.DagsterRunStatus.SUCCESS),
            ("exports_job", dg.DagsterRunStatus.SUCCESS),
        }
        # the instance settings of `make dev` are those of the CLI's instance
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1

        # what `make dev` evaluates first: no cursor yet, everything already loaded
        resources = build_resources(Settings.from_env())
        first = dg.build_sensor_context(instance=instance, resources=resources)
        assert isinstance(new_delivery_sensor(first), dg.SkipReason)
        assert first.cursor is None

        # a delivery that arrives afterwards is requested, alone, and only once
        write_delivery(landing, "2026-01-08")
        arrived = dg.build_sensor_context(instance=instance, resources=resources)
        request = new_delivery_sensor(arrived)
        assert isinstance(request, dg.RunRequest)
        assert request.tags[AS_OF_TAG] == "2026-01-08"
        assert arrived.cursor == f"2026-01-08:{discover(landing)[-1].manifest_sha256}"
        again = dg.build_sensor_context(
            instance=instance, cursor=arrived.cursor, resources=resources
        )
        assert isinstance(new_delivery_sensor(again), dg.SkipReason)


@dg.op(pool="duckdb_writer")
def _writer_step() -> None:
    """A step of the writer pool."""


@dg.job
def _writer_job() -> None:
    _writer_step()


def _ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_runs_of_killed_cli_processes_release_their_writer_slot(tmp_path):
    """A CLI run killed mid-step stays "started" holding its slot; the next CLI refresh
    fails it and frees the slot (a live process's run is left alone)."""
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots("duckdb_writer", 1)
        host = {TAG_CLI_HOST: socket.gethostname()}
        dead = instance.create_run_for_job(
            _writer_job, tags={**host, TAG_CLI_PID: str(_ended_pid())}
        )
        alive = instance.create_run_for_job(_writer_job, tags={**host, TAG_CLI_PID: "1"})
        for run in (dead, alive):
            instance.handle_run_event(
                run.run_id,
                dg.DagsterEvent(
                    event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name
                ),
            )
        instance.event_log_storage.claim_concurrency_slot("duckdb_writer", dead.run_id, "step")

        assert fail_abandoned_cli_runs(instance) == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
        info = instance.event_log_storage.get_concurrency_info("duckdb_writer")
        assert info.claimed_slots == []
