"""The test suite's own structure: test modules share code through support modules only."""

import ast
from pathlib import Path

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
