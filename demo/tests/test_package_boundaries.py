"""The demo lender is its own job: it writes to the data contract and knows nothing else of riskmart, and
nothing that loads, learns or serves imports the demo (its ground truth comes in as data, never as code).

Imports are read from the source with `ast` (every `import` and `from ... import`, also the ones inside
functions), so a lazy import cannot slip past.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the demo may import of the project: itself and the contract it writes to.
DEMO_MAY_IMPORT = {"demo", "contract"}
# Packages that may run the generator: the CLI's `demo-data` and the benchmarks.
MAY_IMPORT_DEMO = {"demo", "riskmart", "bench"}


def first_party_packages() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(pyproject["tool"]["ruff"]["lint"]["isort"]["known-first-party"])


def imported_packages(path: Path) -> set[str]:
    """Top-level package of every absolute import in a Python file (relative imports stay inside it)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def python_files(package: str, *, with_tests: bool) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    return [p for p in files if with_tests or "tests" not in p.relative_to(ROOT).parts]


def test_imported_packages_reads_every_import_form(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import os, ml.train\nfrom ingest.loader import x\nfrom . import sibling\n"
        "def f():\n    from riskmart import cli\n    import api.main as m\n"
    )
    assert imported_packages(source) == {"os", "ml", "ingest", "riskmart", "api"}


def test_the_demo_imports_only_itself_and_the_contract():
    forbidden = first_party_packages() - DEMO_MAY_IMPORT
    assert {"ingest", "ml", "api", "riskmart"} <= forbidden
    files = python_files("demo", with_tests=True)
    assert len(files) >= 8
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_packages(p) & forbidden)
        for p in files
        if imported_packages(p) & forbidden
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "package",
    sorted(p for p in first_party_packages() - MAY_IMPORT_DEMO if (ROOT / p / "__init__.py").exists()),
)
def test_no_package_that_loads_learns_or_serves_imports_the_demo(package):
    files = python_files(package, with_tests=False)
    assert files, package
    offenders = [str(p.relative_to(ROOT)) for p in files if "demo" in imported_packages(p)]
    assert offenders == []


def test_the_packages_that_must_not_import_the_demo_are_checked():
    checked = {p for p in first_party_packages() - MAY_IMPORT_DEMO if (ROOT / p / "__init__.py").exists()}
    assert {"ingest", "ml", "api", "contract"} <= checked
