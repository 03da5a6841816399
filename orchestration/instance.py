"""The one Dagster instance shared by the CLI, `make run` and `make dev`.

``DAGSTER_HOME`` names it; unset, it is ``.dagster_home/`` at the project root. The
folder is created on first use with the project's instance settings
(``orchestration/dagster.yaml``), so runs started from the CLI land in the same run
storage the UI and the sensors read.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from orchestration.settings import PROJECT_ROOT

ENV_DAGSTER_HOME = "DAGSTER_HOME"
DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"
INSTANCE_SETTINGS = Path(__file__).with_name("dagster.yaml")


def dagster_home() -> Path:
    """The instance folder: ``$DAGSTER_HOME`` or ``.dagster_home/`` at the project root."""
    return Path(os.environ.get(ENV_DAGSTER_HOME) or DEFAULT_DAGSTER_HOME).resolve()


def ensure_dagster_home() -> Path:
    """Create the instance folder (with the project's dagster.yaml when it has none),
    export it as ``DAGSTER_HOME`` for this process and its children, and return it."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        shutil.copyfile(INSTANCE_SETTINGS, settings)
    os.environ[ENV_DAGSTER_HOME] = str(home)
    return home


@contextmanager
def open_instance() -> Iterator[dg.DagsterInstance]:
    """The persistent instance under :func:`ensure_dagster_home`, entered.

    Entering the instance installs its definitions-state storage for the block, so
    loading the definitions never sees a storage left behind by another, already
    collected instance of this process (Dagster keeps it in a context variable).
    """
    with dg.DagsterInstance.from_config(str(ensure_dagster_home())) as instance:
        yield instance


# Tags of the runs a CLI process executes in itself, so a later one can tell they died.
TAG_CLI_HOST = "flex/cli_host"
TAG_CLI_PID = "flex/cli_pid"


def cli_run_tags() -> dict[str, str]:
    """Tags naming this process as the executor of a run (see :func:`fail_abandoned_cli_runs`)."""
    return {TAG_CLI_HOST: socket.gethostname(), TAG_CLI_PID: str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_abandoned_cli_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs of CLI processes on this host that are gone
    (killed mid-run), and free the pool slots they held; their run ids.

    A killed in-process run stays "started" and keeps its ``duckdb_writer`` slot, so
    every later run would wait for that slot forever. Call it while holding the
    refresh lock (no live CLI refresh then runs next to the caller).
    """
    unfinished = instance.get_run_records(
        dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED],
            tags={TAG_CLI_HOST: socket.gethostname()},
        )
    )
    failed = []
    for record in unfinished:
        run = record.dagster_run
        pid = int(run.tags.get(TAG_CLI_PID, "0"))
        if pid and pid != os.getpid() and not _alive(pid):
            instance.report_run_failed(run, f"its process ({pid}) ended without finishing it")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            failed.append(run.run_id)
    return failed
