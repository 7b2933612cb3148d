"""A load killed with SIGKILL half way, then re-run, gives exactly what one clean run gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from ingest.loader import ingest_landing
from ingest.tests.landing_files import RAW_TABLES, assert_counts_reconcile, query, raw_contents

PROJECT = Path(__file__).resolve().parents[2]
BATCH_BYTES = 384 * 1024  # many small transactions, so a kill lands between and inside them
FIRST_COMMIT_WAL_BYTES = 64 * 1024
LOAD = (
    "import sys; from pathlib import Path; from ingest.loader import ingest_landing; "
    "ingest_landing(Path(sys.argv[1]), Path(sys.argv[2]), batch_bytes=int(sys.argv[3]))"
)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from demo.generate import generate_demo_data

    root = tmp_path_factory.mktemp("atomic")
    generate_demo_data(
        landing=root / "landing",
        truth=root / "truth",
        clients=100,
        months=3,
        end_date=date(2025, 6, 30),
        seed=5,
        dirty_rate=0.02,
        shift_months=0,
    )
    return root / "landing"


def start_load(landing: Path, warehouse: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen(
        [sys.executable, "-c", LOAD, str(landing), str(warehouse), str(BATCH_BYTES)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def logged_deliveries(warehouse: Path) -> int:
    tables = query(warehouse, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'ingest_log'")
    return query(warehouse, "SELECT count(*) AS n FROM raw.ingest_log")[0]["n"] if tables[0]["n"] else 0


def kill_mid_way(landing: Path, warehouse: Path, total: int) -> int:
    """SIGKILL a load once some deliveries are committed and some are not; the number committed."""
    wal = Path(f"{warehouse}.wal")
    delay = 0.0
    for _ in range(6):
        for path in (warehouse, wal):
            path.unlink(missing_ok=True)
        process = start_load(landing, warehouse)
        # creating the tables writes a few KB of log; the first batch committed writes far more
        while process.poll() is None and not (wal.exists() and wal.stat().st_size > FIRST_COMMIT_WAL_BYTES):
            time.sleep(0.02)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode in (0, -signal.SIGKILL), process.stderr.read().decode()
        committed = logged_deliveries(warehouse)
        if 0 < committed < total and process.returncode == -signal.SIGKILL:
            return committed
        delay = delay / 2 if committed >= total else delay + 0.5
    pytest.fail("could not kill the load between its first and its last commit")


def test_kill_and_rerun_leaves_no_duplicates_and_no_gaps(landing: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.duckdb"
    total = len(ingest_landing(landing, reference, batch_bytes=BATCH_BYTES).files)
    warehouse = tmp_path / "killed.duckdb"

    committed = kill_mid_way(landing, warehouse, total)
    print(f"killed after {committed} of {total} deliveries")

    # what survived the kill is whole deliveries: each logged one complete, nothing from the others
    assert_counts_reconcile(warehouse)
    for table in (*RAW_TABLES, "quarantine"):
        orphans = query(
            warehouse,
            f"SELECT count(*) AS n FROM raw.{table} WHERE _file_id NOT IN (SELECT file_id FROM raw.ingest_log)",
        )
        assert orphans == [{"n": 0}], table

    rerun = ingest_landing(landing, warehouse, batch_bytes=BATCH_BYTES)

    assert rerun.skipped == committed
    assert len(rerun.files) == total - committed
    assert raw_contents(warehouse) == raw_contents(reference)
    assert_counts_reconcile(warehouse)
