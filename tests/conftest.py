"""Shared pytest fixtures, and how xdist workers share the tests out."""

import ast
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from xdist.scheduler import LoadScopeScheduling

from orchestration.ingest import loader
from orchestration.instance import ENV_DAGSTER_HOME

# Tests with these marks take minutes; they start first so that two workers finish together.
LONGEST_FIRST = ("spark", "bench", "slow")


@cache
def shares_a_module_fixture(module: Path) -> bool:
    """Whether the test module defines a module-scoped fixture: then its tests form one
    work unit, so the fixture is built once, on one worker."""
    tree = ast.parse(module.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and any(
                    k.arg == "scope" and getattr(k.value, "value", None) == "module"
                    for k in decorator.keywords
                ):
                    return True
    return False


def work_unit(nodeid: str, rootpath: Path) -> str:
    """The unit a test is scheduled in: its module if that shares a fixture, else itself."""
    module = nodeid.split("::", 1)[0]
    return module if shares_a_module_fixture(rootpath / module) else nodeid


class ModuleFixtureScheduling(LoadScopeScheduling):
    """xdist's load-by-scope scheduling, where a scope is a ``work_unit``.

    (xdist's own ``loadgroup`` marks do not reach its scheduler under pytest 9.2, whose
    node ids no longer take the suffix xdist appends.)
    """

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid, self.config.rootpath)


@pytest.hookimpl(optionalhook=True)  # xdist may be off (`-p no:xdist`)
def pytest_xdist_make_scheduler(config, log):
    return ModuleFixtureScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long tests first, each work unit kept contiguous.

    Units holding a spark, bench or slow test come first; with ``--no-loadscope-reorder``
    (``make test``) the scheduler hands the units out in this order, each to the next
    worker that is almost idle.
    """
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(work_unit(item.nodeid, item.config.rootpath), []).append(item)

    def rank(unit: list[pytest.Item]) -> int:
        marked = [i for i, mark in enumerate(LONGEST_FIRST) for item in unit
                  if item.get_closest_marker(mark)]  # fmt: skip
        return min(marked, default=len(LONGEST_FIRST))

    items[:] = [item for unit in sorted(units.values(), key=rank) for item in unit]


@pytest.fixture(autouse=True, scope="session")
def dagster_home(tmp_path_factory):
    """Every test (and the CLI processes it starts) records its runs in a throw-away
    Dagster instance, never in the project's .dagster_home/."""
    home = tmp_path_factory.mktemp("dagster_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_DAGSTER_HOME, str(home))
        yield home


@pytest.fixture(autouse=True)
def live_definitions_state():
    """Every test runs with a live (ephemeral) Dagster instance entered.

    Loading definitions reads the entered instance's definitions-state storage from a
    context variable; one left behind by an instance that has since been collected makes
    `dg.materialize` fail with "undefined DagsterInstance weakref" in whichever later test
    of that worker loads definitions (see tests/test_pipeline_instance.py).
    """
    with dg.DagsterInstance.ephemeral():
        yield


@pytest.fixture
def con():
    """An in-memory DuckDB database with the empty raw schema of the ingest."""
    con = duckdb.connect()
    loader.ensure_raw_schema(con)
    yield con
    con.close()


def _java_major() -> int | None:
    """The major version of the `java` on PATH, or None when there is none."""
    if shutil.which("java") is None:
        return None
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(\d+)', out)
    return int(found.group(1)) if found else None


@pytest.fixture(scope="session")  # module fixtures that run Spark depend on it too
def spark_available() -> None:
    """Skip without Java 17+, except where Spark is required (CI sets FLEX_REQUIRE_SPARK=1):
    there a missing Java fails, so the Spark proof can never be skipped silently."""
    major = _java_major()
    if major is not None and major >= 17:
        return
    reason = f"Spark 4 needs Java 17 or later (found: {major or 'no java'})"
    if os.environ.get("FLEX_REQUIRE_SPARK") == "1":
        pytest.fail(reason)
    pytest.skip(reason)
