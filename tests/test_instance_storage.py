"""The local instance's storage (orchestration/dagster.yaml): Dagster's SQLite files, the
event log keeping a bounded number of engines open between reads and writes."""

import shutil

import dagster as dg
import pytest

from orchestration import instance_storage
from orchestration.instance import ENV_DAGSTER_HOME, INSTANCE_SETTINGS
from orchestration.instance_storage import PooledSqliteEventLogStorage


@dg.asset
def numbers() -> int:
    return 7


@dg.asset_check(asset=numbers)
def numbers_positive(numbers: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=numbers > 0)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A new instance folder with the project's settings, as ``ensure_dagster_home`` makes it."""
    monkeypatch.setenv(ENV_DAGSTER_HOME, str(tmp_path))
    shutil.copy(INSTANCE_SETTINGS, tmp_path / "dagster.yaml")
    return tmp_path


def _materialize(instance: dg.DagsterInstance) -> str:
    result = dg.materialize([numbers, numbers_positive], instance=instance)
    assert result.success
    return result.run_id


def test_project_settings_load_the_pooled_event_log(home):
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        run_id = _materialize(instance)
    # Dagster's default layout: per-run event files and the index under history/runs/
    assert (home / "history" / "runs" / f"{run_id}.db").exists()
    assert (home / "history" / "runs" / "index.db").exists()


def test_history_is_read_back_by_dagsters_own_storage(home):
    """Runs, events, materializations and check results written through the pooled
    storage are what an instance with Dagster's default storage reads from the folder."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_ids = [_materialize(instance) for _ in range(3)]
        written = {run_id: len(instance.all_logs(run_id)) for run_id in run_ids}
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # default storage
    with dg.DagsterInstance.from_config(str(home)) as plain:
        assert type(plain.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert {r.dagster_run.run_id for r in plain.get_run_records()} == set(run_ids)
        assert {run_id: len(plain.all_logs(run_id)) for run_id in run_ids} == written
        assert all(count > 10 for count in written.values())
        latest = plain.get_latest_materialization_event(dg.AssetKey("numbers"))
        assert latest is not None and latest.run_id == run_ids[-1]
        check = plain.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("numbers"), "numbers_positive")]
        )
        assert next(iter(check.values())).run_id == run_ids[-1]


def test_open_engines_stay_bounded_and_close_on_dispose(home, monkeypatch):
    monkeypatch.setattr(instance_storage, "KEPT_SHARD_ENGINES", 3)
    instance = dg.DagsterInstance.from_config(str(home))
    storage = instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    run_ids = [_materialize(instance) for _ in range(5)]
    assert len(storage._engines) == 3 and run_ids[-1] in storage._engines
    for run_id in run_ids:  # shards whose engine was dropped are opened again when read
        assert instance.all_logs(run_id)
    assert len(storage._engines) == 3
    instance.dispose()
    assert storage._engines == {}
