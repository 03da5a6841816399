"""Shared pytest fixtures, and the order in which xdist workers receive the tests."""

import os
import re
import shutil
import subprocess

import duckdb
import pytest

from orchestration.ingest import loader
from orchestration.instance import ENV_DAGSTER_HOME

# Tests with these marks take minutes; they start first so that two workers finish together.
LONGEST_FIRST = ("spark", "bench", "slow")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long tests first, and keep tests that share a module-scoped fixture together.

    A test that uses a module-scoped fixture joins its module's ``xdist_group``, so the
    fixture is built once, on one worker; every other test is a unit of its own. Units
    holding a spark, bench or slow test come first (each unit stays contiguous), and with
    ``--dist loadgroup --no-loadscope-reorder`` (``make test``) each worker takes the next
    unit in this order when it is almost idle.
    """
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        fixtures = item._fixtureinfo.name2fixturedefs.values()  # no public API for the scopes
        unit = item.nodeid
        if any(defs[-1].scope == "module" for defs in fixtures):
            unit = item.module.__name__
            item.add_marker(pytest.mark.xdist_group(unit))
        units.setdefault(unit, []).append(item)

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


@pytest.fixture
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
