"""docs/architecture.md's table of what each package may import, as a test: an import against an arrow
(the API importing `ml.registry` or `riskmart`, scoring importing `ml`, ...) fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def test_the_table_covers_every_package() -> None:
    packages = {p.parent.name for p in PROJECT.glob("*/__init__.py")}
    assert packages - {"riskmart", "bench", "ingest"} <= set(ALLOWED), (
        "a new package needs its row in the table"
    )


OURS = {"api", "bundle", "scoring", "ml", "riskmart", "ingest", "demo", "contract", "dashboard", "bench"}
# package -> the project's packages it may import (besides itself), as docs/architecture.md's table says;
# tests are fixtures, not the package; riskmart (the conductor) and bench may import every package
ALLOWED = {
    "contract": set(),
    "ingest": {"contract"},
    "demo": {"contract"},
    "ml": {"scoring"},
    "scoring": {"bundle"},
    "bundle": set(),
    "api": {"bundle", "scoring"},
    "dashboard": {"bundle"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    wrong = {}
    for path in sorted((PROJECT / package).rglob("*.py")):
        if "tests" in path.relative_to(PROJECT).parts:
            continue
        bad = _imports(path) - ALLOWED[package] - {package}
        if bad:
            wrong[str(path.relative_to(PROJECT))] = sorted(bad)
    assert wrong == {}, f"{package} may import only {sorted(ALLOWED[package]) or 'libraries'}: {wrong}"


def test_the_ml_layer_uses_scoring_and_never_the_reverse() -> None:
    assert "scoring" in _imports(PROJECT / "ml" / "score.py")
