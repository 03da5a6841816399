"""Dependencies point one way: libraries below the Dagster wiring, entry points above it.

A small AST check of every ``import`` in ``orchestration/`` (function-level ones too):

* every module belongs to one layer of :data:`LAYERS` (a new module must be placed);
* a module imports only from its own layer or lower ones;
* the libraries (every layer below ``wiring``) import neither ``dagster`` nor
  ``dagster_dbt``;
* the runtime package never imports the generator (``tools``), which is not shipped.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "orchestration"

# Lowest first. A module may import its own layer and the layers before it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("settings", "faults", "locks")),
    ("storage", ("ingest", "warehouse", "privacy", "spark")),
    ("domain", ("checks", "exports")),
    ("delivery", ("delivery",)),
    ("wiring", ("defs",)),
    (
        "entry points",
        (
            "pipeline",
            "instance",
            "instance_storage",
            "progress",
            "console",
            "inspection",
            "cli",
            "dev",
        ),
    ),
]
WIRING = next(i for i, (name, _) in enumerate(LAYERS) if name == "wiring")
DAGSTER = ("dagster", "dagster_dbt")


def _layer_of(module: str) -> int | None:
    """Layer index of ``orchestration.<top>...``; None for a module of no layer."""
    parts = module.split(".")
    if parts[0] != "orchestration" or len(parts) < 2:
        return None
    for index, (_, tops) in enumerate(LAYERS):
        if parts[1] in tops:
            return index
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of what ``path`` imports (``from x import y`` gives ``x.y`` and ``x``)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def _violations(path: Path) -> list[str]:
    own = _layer_of(_module_name(path))
    found = []
    for name in sorted(imported_modules(path)):
        top = name.split(".")[0]
        if top == "tools":
            found.append(f"imports the generator tool {name}")
        elif top in DAGSTER and own < WIRING:
            found.append(f"a library imports {name}")
        layer = _layer_of(name)
        if layer is not None and layer > own:
            found.append(f"imports {name} of the higher layer {LAYERS[layer][0]!r}")
    return found


def test_every_module_belongs_to_a_layer():
    unplaced = [_module_name(p) for p in _modules() if _layer_of(_module_name(p)) is None]
    assert unplaced == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _module_name(p))
def test_imports_point_down_only(path):
    assert _violations(path) == []


def test_the_check_finds_each_kind_of_wrong_import(tmp_path, monkeypatch):
    """A planted library importing Dagster, the wiring, an entry point or the tool fails;
    the same imports from the wiring (Dagster, a library) pass."""
    monkeypatch.setattr(sys.modules[__name__], "PROJECT_ROOT", tmp_path)
    library = tmp_path / "orchestration" / "exports" / "planted.py"
    library.parent.mkdir(parents=True)
    library.write_text(
        "import dagster as dg\n"
        "from orchestration.defs import resources\n"
        "from ..pipeline import refresh\n"
        "def later():\n"
        "    import tools.generate\n"
        "from orchestration.warehouse import reading\n"
        "from .sheets import SUMMARY\n"
    )
    assert _violations(library) == [
        "a library imports dagster",
        "imports orchestration.defs of the higher layer 'wiring'",
        "imports orchestration.defs.resources of the higher layer 'wiring'",
        "imports orchestration.pipeline of the higher layer 'entry points'",
        "imports orchestration.pipeline.refresh of the higher layer 'entry points'",
        "imports the generator tool tools.generate",
    ]
    wiring = tmp_path / "orchestration" / "defs" / "planted.py"
    wiring.parent.mkdir(parents=True)
    wiring.write_text("import dagster\nfrom orchestration.exports import reader\n")
    assert _violations(wiring) == []
