"""deploy/dagster.yaml against a real, throw-away PostgreSQL cluster: the refresh job
(and the exports it triggers) record their runs there, and a sensor tick reads them."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.config import AS_OF_TAG
from orchestration.defs.resources import build_resources
from orchestration.defs.sensors import new_delivery_sensor
from orchestration.pipeline import refresh
from orchestration.settings import PROJECT_ROOT, Settings
from tests.landing_builder import write_delivery
from tests.pipeline_support import set_pipeline_env, small_landing

pytestmark = pytest.mark.slow

PG_BIN = Path(os.environ.get("FLEX_PG_BIN", "/usr/lib/postgresql/15/bin"))
DB_NAME = "flex_dagster"
DB_USER = "flex"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> dict:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid}


@pytest.fixture(scope="module")
def postgres():
    """A cluster in a temp folder on a free loopback port; its connection settings."""
    if not (PG_BIN / "initdb").exists():
        reason = f"no PostgreSQL server in {PG_BIN} (apt-get install postgresql-15)"
        if os.environ.get("FLEX_REQUIRE_POSTGRES") == "1":  # CI: never skipped
            pytest.fail(reason)
        pytest.skip(reason)
    owner = _server_user()
    root = Path(tempfile.mkdtemp(prefix="flex_pg_"))
    if owner:
        os.chown(root, owner["user"], owner["group"])
    data, port = root / "data", _free_port()

    def pg(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, cwd=root, **owner)

    pg(str(PG_BIN / "initdb"), "-D", str(data), "-U", DB_USER, "--auth=trust", "-E", "UTF8")
    pg(
        str(PG_BIN / "pg_ctl"),
        *("-D", str(data), "-l", str(root / "server.log"), "-w", "start"),
        "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
    )
    try:
        pg(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER, DB_NAME)
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_DB": DB_NAME,
            "DAGSTER_PG_USER": DB_USER,
            "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        }
    finally:
        pg(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_refresh_and_sensor_tick_on_postgres_storage(postgres, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    landing = small_landing(tmp_path / "landing", end=date(2026, 1, 7), teams=2)
    warehouse, exports = tmp_path / "wh.duckdb", tmp_path / "exports"
    set_pipeline_env(monkeypatch, landing, warehouse, exports, **postgres, DAGSTER_HOME=home)

    result = refresh(landing, None, warehouse, exports)
    assert result.workbooks

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert {(r.job_name, r.status) for r in instance.get_runs()} == {
            ("refresh_job", dg.DagsterRunStatus.SUCCESS),
            ("exports_job", dg.DagsterRunStatus.SUCCESS),
        }
        # the writer pool's limit lives in the database, claimed and released by the run
        pool = instance.event_log_storage.get_concurrency_info("duckdb_writer")
        assert pool.slot_count == 1 and pool.claimed_slots == []

        resources = build_resources(Settings.from_env())
        first = dg.build_sensor_context(instance, resources=resources)
        assert isinstance(new_delivery_sensor(first), dg.SkipReason)
        write_delivery(landing, "2026-01-08")
        tick = dg.build_sensor_context(instance, resources=resources)
        request = new_delivery_sensor(tick)
        assert request.tags[AS_OF_TAG] == "2026-01-08"
        # the team partitions the refresh registered are stored in PostgreSQL too
        assert instance.get_dynamic_partitions("teams")
