"""`refresh` loads its definitions against a live instance, whatever the process did before.

Dagster keeps the entered instance's definitions-state storage in a context
variable; a context another library or test left un-exited can leave there the
storage of an instance that has since been collected. Loading definitions then
fails with "Attempted to resolve undefined DagsterInstance weakref" unless the
caller enters its own instance, which `refresh` does.
"""

import gc
from datetime import date

import dagster as dg
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from orchestration.defs.definitions import build_definitions
from orchestration.defs.resources import build_resources
from orchestration.pipeline import refresh
from orchestration.settings import Settings
from tests.pipeline_support import HASH_KEY, small_landing


@pytest.fixture
def collected_instance_left_installed():
    with dg.instance_for_test() as instance:
        storage = instance.defs_state_storage
    del instance
    gc.collect()
    with set_defs_state_storage(storage):
        yield


@pytest.mark.usefixtures("collected_instance_left_installed")
def test_the_hazard_breaks_loading_without_an_entered_instance(tmp_path):
    settings = Settings(tmp_path, tmp_path / "wh.duckdb", tmp_path / "exports", 0.01, "duckdb")
    with pytest.raises(dg.DagsterInvariantViolationError, match="weakref"):
        build_definitions(build_resources(settings)).resolve_job_def("refresh_job")


@pytest.mark.slow
@pytest.mark.usefixtures("collected_instance_left_installed")
def test_refresh_runs_despite_a_collected_instance_left_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEX_PII_HASH_KEY", HASH_KEY)
    landing = small_landing(tmp_path / "landing", end=date(2026, 1, 7), teams=2)
    result = refresh(landing, None, tmp_path / "wh.duckdb", tmp_path / "exports", False)
    assert result.as_of == date(2026, 1, 7)
    assert result.rows_loaded > 0
