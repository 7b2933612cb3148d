"""Fixtures shared across the packages' tests: one real daily cycle on a small demo export."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


def write_demo_export(
    work: Path, *, clients: int = 300, months: int = 9, seed: int = 3, shift_months: int = 0
) -> tuple[Path, Path]:
    """A small demo export (1 % dirty rows) ending at DEMO_END_DATE, with the generator's distribution shift
    in its last `shift_months` months: its landing and truth folders."""
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
        shift_months=shift_months,
    )
    return landing, truth


def run_demo_cycle(
    work: Path, *, clients: int = 300, months: int = 9, seed: int = 3, shift_months: int = 0
) -> DemoCycle:
    from riskmart.pipeline import run_daily_cycle
    from riskmart.settings import Settings

    landing, truth = write_demo_export(
        work, clients=clients, months=months, seed=seed, shift_months=shift_months
    )
    settings = Settings(warehouse=work / "warehouse" / "riskmart.duckdb", landing=landing, truth=truth)
    summary = run_daily_cycle(settings, as_of=DEMO_END_DATE, console=Console(quiet=True))
    return DemoCycle(settings, summary, landing, truth, DEMO_END_DATE)


# `make test` runs two xdist workers that each take whole files, in the order collected here (--dist loadfile
# --no-loadscope-reorder). The longest files go first, so that no worker starts a long file near the end while
# the other one idles. Worker-seconds per file from `pytest --durations=0` on a quiet machine, 2026-12-07 at
# 654ebf0 (the first two: their slowest tests in the fresh clone of bd2555b, 2026-12-07); a file not listed
# keeps its place after these.
LONGEST_FIRST = (
    "riskmart/tests/test_bigquery_emulator.py",  # ~355 s (fixture 157, the first run on BigQuery 125)
    "riskmart/tests/test_crash_safety.py",  # ~250 s
    "riskmart/tests/test_dbt_project.py",  # 73 s
    "riskmart/tests/test_warehouse_names.py",  # 52 s
    "riskmart/tests/test_point_in_time.py",  # 40 s
    "api/tests/test_applicant_parity.py",  # 37 s
    "riskmart/tests/test_monitoring.py",  # 30 s
    "riskmart/tests/test_retention.py",  # 29 s
    "riskmart/tests/test_incremental_staging.py",  # 27 s
    "riskmart/tests/test_operations.py",  # 23 s, and the shared demo cycle (19 s) when it is the first to ask
    "ingest/tests/test_ingest_runs.py",  # 21 s
    "riskmart/tests/test_daily_cycle.py",  # 17 s
    "dashboard/tests/test_metricflow.py",  # 16 s
    "riskmart/tests/test_cycle_ground_truth.py",  # 15 s
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: position for position, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base folder of this test run, which its xdist workers share (each works in a sub-folder)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `lock` (across the run's xdist workers)."""
    import fcntl

    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session", autouse=True)
def dbt_parse_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's parse state kept for this test run only (shared by its xdist workers), never the user's own
    cache: each new warehouse of the run starts from it (riskmart.dbt.parse_cache_file) and subprocesses
    inherit it."""
    import os

    cache = run_root(tmp_path_factory) / "dbt-parse-cache"
    os.environ["RISKMART_DBT_PARSE_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session", autouse=True)
def shared_seeded_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder where api.tests.snapshots.seeded_warehouse builds its warehouse once for the whole run (its
    xdist workers and their subprocesses)."""
    import os

    from api.tests.snapshots import SHARED_SEEDED_WAREHOUSE

    folder = run_root(tmp_path_factory) / "seeded-warehouse"
    os.environ[SHARED_SEEDED_WAREHOUSE] = str(folder)
    return folder


@pytest.fixture(scope="session")
def demo_cycle(tmp_path_factory: pytest.TempPathFactory) -> DemoCycle:
    """The daily cycle run once per test run on a small demo export, by the first xdist worker that asks;
    every worker gets a copy of its folder. Treat it as read-only."""
    import pickle
    import shutil

    from riskmart.settings import Settings

    shared = run_root(tmp_path_factory) / "shared-demo-cycle"
    made = shared / "cycle.pickle"
    with exclusive(shared.with_name("shared-demo-cycle.lock")):
        if not made.is_file():
            cycle = run_demo_cycle(shared)
            made.write_bytes(pickle.dumps((cycle.summary, cycle.as_of)))
    own = tmp_path_factory.mktemp("demo_cycle")
    shutil.copytree(shared, own, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock", made.name))
    summary, as_of = pickle.loads(made.read_bytes())
    landing, truth = own / "landing", own / "truth"
    settings = Settings(warehouse=own / "warehouse" / "riskmart.duckdb", landing=landing, truth=truth)
    return DemoCycle(settings, summary, landing, truth, as_of)


@dataclass(frozen=True)
class MonitoredCycle:
    """The demo cycle's warehouse, copied, with every matured month end scored by the champion and the
    scoring build and the publisher run again: matured cohorts for the performance marts and the pages."""

    settings: object  # riskmart.settings.Settings
    as_of: date


def monitor_matured_month_ends(cycle: DemoCycle, work: Path) -> MonitoredCycle:
    import shutil
    from datetime import timedelta

    import pandas as pd

    from ml.registry import champion_info
    from ml.score import score_date
    from ml.warehouse import connect_warehouse
    from riskmart.dbt import run_dbt
    from riskmart.pipeline import DAILY_SCORING_BUILD
    from riskmart.publish import publish_bundle
    from riskmart.settings import Settings

    warehouse = work / "riskmart.duckdb"
    shutil.copy(cycle.settings.warehouse, warehouse)
    settings = Settings(
        warehouse=warehouse,
        landing=cycle.landing,
        truth=cycle.truth,
        registry_dir=cycle.settings.registry_path,
        publish_dir=work / "published",
    )
    with connect_warehouse(warehouse, read_only=True) as con:
        month_ends = con.execute(
            "select distinct feature_date from marts.fct_client_features where is_month_end and feature_date <= ?"
            " order by 1",
            [cycle.as_of - timedelta(days=60)],
        ).fetchall()
    # the daily cycle scores its own date only; performance needs score dates whose labels have matured
    for (day,) in month_ends:
        score_date(settings, pd.Timestamp(day).date())
    run_dbt(settings, DAILY_SCORING_BUILD, as_of=cycle.as_of, quiet=True)
    publish_bundle(
        warehouse, settings.publish_path, champion_info(settings), registry_path=settings.registry_path
    )
    return MonitoredCycle(settings, cycle.as_of)


@pytest.fixture(scope="session")
def monitored_cycle(demo_cycle: DemoCycle, tmp_path_factory: pytest.TempPathFactory) -> MonitoredCycle:
    """The demo cycle with matured scored cohorts, built and published once per test run (by the first xdist
    worker that asks); every worker gets a copy of its folder. Read-only."""
    import shutil

    from riskmart.settings import Settings

    shared = run_root(tmp_path_factory) / "shared-monitored-cycle"
    made = shared / "built"
    with exclusive(shared.with_name("shared-monitored-cycle.lock")):
        if not made.is_file():
            shared.mkdir(exist_ok=True)
            monitor_matured_month_ends(demo_cycle, shared)
            made.touch()
    own = tmp_path_factory.mktemp("monitored_cycle")
    shutil.copytree(shared, own, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock", made.name))
    settings = Settings(
        warehouse=own / "riskmart.duckdb",
        landing=demo_cycle.landing,
        truth=demo_cycle.truth,
        registry_dir=demo_cycle.settings.registry_path,
        publish_dir=own / "published",
    )
    return MonitoredCycle(settings, demo_cycle.as_of)
