"""The scoring engine's layering: isolation, outcome and the run record never import the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import jtbench

PACKAGE = Path(jtbench.__file__).parent
LOWER = ("isolation.py", "outcome.py", "run_record.py", "summary.py", "profiles.py")


def _imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_modules_below_the_engine_do_not_import_it():
    for name in LOWER:
        imports = _imports(PACKAGE / "metrics" / name)
        assert "jtbench.metrics.scorer" not in imports, name
    assert "jtbench.metrics.isolation" in _imports(PACKAGE / "metrics" / "scorer.py")


def test_engine_modules_stay_under_400_lines():
    for name in ("scorer.py", *LOWER):
        lines = len((PACKAGE / "metrics" / name).read_text().splitlines())
        assert lines <= 400, f"{name}: {lines} lines"
