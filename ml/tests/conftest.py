"""Fixtures: a real DuckDB warehouse holding small synthetic marts, and settings pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.tests.synthetic_marts import make_client_features, write_marts
from riskmart.settings import Settings

N_CLIENTS = 500
N_DATES = 8


@pytest.fixture(scope="session")
def client_frame():
    return make_client_features(N_CLIENTS, N_DATES)


@pytest.fixture
def settings(tmp_path: Path, client_frame) -> Settings:
    """Settings for one test: its own warehouse with the synthetic marts, registry and ground truth."""
    warehouse = tmp_path / "warehouse" / "riskmart.duckdb"
    warehouse.parent.mkdir()
    write_marts(warehouse, client_frame, truth_dir=tmp_path / "truth")
    return Settings(
        warehouse=warehouse,
        landing=tmp_path / "landing",
        truth=tmp_path / "truth",
        registry_dir=tmp_path / "models",
        publish_dir=tmp_path / "published",
        # Small data on a shared machine: one thread is as fast and immune to other processes' load.
        ml_threads=1,
    )
