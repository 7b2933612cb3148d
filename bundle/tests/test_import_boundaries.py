"""The arrows between the API, scoring and the bundle point one way: a forbidden import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
OURS = {"api", "bundle", "scoring", "ml", "riskmart", "ingest", "demo", "dashboard", "bench"}
# package -> the project's packages it may import (besides itself); tests are fixtures, not the package
ALLOWED = {
    "bundle": set(),
    "scoring": {"bundle"},
    "api": {"bundle", "scoring"},
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
