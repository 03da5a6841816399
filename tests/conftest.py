"""Shared pytest fixtures."""

import os
import re
import shutil
import subprocess

import pytest

from orchestration.instance import ENV_DAGSTER_HOME


@pytest.fixture(autouse=True, scope="session")
def dagster_home(tmp_path_factory):
    """Every test (and the CLI processes it starts) records its runs in a throw-away
    Dagster instance, never in the project's .dagster_home/."""
    home = tmp_path_factory.mktemp("dagster_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_DAGSTER_HOME, str(home))
        yield home


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
