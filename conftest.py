"""Fixtures shared across the packages' tests: one real daily cycle on a small demo export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

DEMO_END_DATE = date(2026, 6, 30)


@dataclass(frozen=True)
class DemoCycle:
    """A warehouse built by the real pipeline (demo data → ingest → dbt → train → score → publish)."""

    settings: object  # riskmart.settings.Settings
    summary: object  # riskmart.pipeline.CycleSummary
    landing: Path
    truth: Path
    as_of: date


def write_demo_export(work: Path, *, clients: int = 300, months: int = 9, seed: int = 3) -> tuple[Path, Path]:
    """A small demo export (1 % dirty rows) ending at DEMO_END_DATE: its landing and truth folders."""
    from demo.generate import generate_demo_data

    landing, truth = work / "landing", work / "truth"
    generate_demo_data(
        landing=landing,
        truth=truth,
        clients=clients,
        months=months,
        end_date=DEMO_END_DATE,
        seed=seed,
        dirty_rate=0.01,
        shift_months=0,
    )
    return landing, truth


def run_demo_cycle(work: Path, *, clients: int = 300, months: int = 9, seed: int = 3) -> DemoCycle:
    from riskmart.pipeline import run_daily_cycle
    from riskmart.settings import Settings

    landing, truth = write_demo_export(work, clients=clients, months=months, seed=seed)
    settings = Settings(warehouse=work / "warehouse" / "riskmart.duckdb", landing=landing, truth=truth)
    summary = run_daily_cycle(settings, as_of=DEMO_END_DATE, console=Console(quiet=True))
    return DemoCycle(settings, summary, landing, truth, DEMO_END_DATE)


@pytest.fixture(scope="session")
def demo_cycle(tmp_path_factory: pytest.TempPathFactory) -> DemoCycle:
    """The daily cycle run once per test session on a small demo export; treat it as read-only."""
    return run_demo_cycle(tmp_path_factory.mktemp("demo_cycle"))
