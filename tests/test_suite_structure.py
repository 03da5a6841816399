"""The test suite's own structure: test modules share code through support modules only,
and `make test`'s two workers build a shared module fixture once."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TEST_MODULES = {path.stem for path in TESTS.glob("test_*.py")}


def imported_test_modules(path: Path) -> list[str]:
    """The test modules of tests/ that the module at ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return sorted(name for name in names if name.rpartition(".")[2] in TEST_MODULES)


def test_no_test_module_imports_another():
    found = {path.name: imported_test_modules(path) for path in sorted(TESTS.rglob("*.py"))}
    assert {name: modules for name, modules in found.items() if modules} == {}


def test_the_check_sees_every_import_form(tmp_path):
    module = tmp_path / "x.py"
    module.write_text(
        "import test_checks\nfrom tests.test_exports import D\nfrom tests import test_cli\n"
        "from tests.pipeline_support import run_cli\nfrom tests import dbt_support\n"
    )
    assert imported_test_modules(module) == ["test_checks", "tests.test_cli", "tests.test_exports"]


SHARED_FIXTURE_MODULE = """
import os
import pytest

@pytest.fixture(scope="module")
def built():
    with open("builds.txt", "a") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    return True

@pytest.mark.slow
def test_one(built):
    assert built

def test_two(built):
    assert built

def test_three():
    pass
"""


@pytest.mark.slow
def test_two_workers_build_a_module_fixture_once(tmp_path):
    """`make test`'s scheduling (tests/conftest.py) keeps a module sharing a fixture on one
    worker, while the other tests spread over both."""
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(TESTS / "conftest.py", tests / "conftest.py")
    (tests / "test_shared.py").write_text(SHARED_FIXTURE_MODULE)
    for i in range(6):
        (tests / f"test_alone_{i}.py").write_text(
            f"import time\n\ndef test_alone_{i}():\n    time.sleep(0.2)\n"
        )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
        'markers = ["slow: s", "spark: s", "bench: b"]\n'
    )
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadscope",
         "--no-loadscope-reorder", "-p", "no:cacheprovider", "-v"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "builds.txt").read_text().count("\n") == 1, run.stdout
    workers = set(re.findall(r"\[(gw\d)\].*PASSED", run.stdout))
    assert workers == {"gw0", "gw1"}, run.stdout
