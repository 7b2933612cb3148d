"""`riskmart ingest` and `riskmart ingest-log --json` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from ingest.tests.landing_files import EXPORT, Landing, bureau_report, client_row, payment_row

PROJECT = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = {"file", "table", "rows_read", "rows_loaded", "rows_rejected", "status"}


def riskmart(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMART_")}
    env["PYTHONPATH"] = str(PROJECT)
    return subprocess.run(
        [sys.executable, "-m", "riskmart.cli", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_then_ingest_log_json(tmp_path: Path) -> None:
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "wh" / "riskmart.duckdb"
    landing.csv("clients", [client_row("C1")], export=EXPORT - timedelta(days=1))
    landing.csv("clients", [client_row("C1")])
    landing.csv("payments", [payment_row(1, "C1"), payment_row(2, "C9")])
    landing.bureau("C1", bureau_report())
    landing.write("payments/payments.txt", b"not a delivery")

    early = riskmart(
        "ingest", "--landing", str(landing.root), "--warehouse", str(warehouse), "--as-of", "2025-03-30"
    )
    assert early.returncode == 0, early.stderr
    done = riskmart("ingest", "--landing", str(landing.root), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    assert "rejected payments/payments.txt" not in done.stderr  # reported by the first run only

    shown = riskmart("ingest-log", "--json", "--warehouse", str(warehouse))

    assert shown.returncode == 0, shown.stderr
    log = json.loads(shown.stdout)
    assert all(REQUIRED_KEYS <= set(entry) for entry in log)
    assert {
        e["file"]: (e["table"], e["status"], e["rows_read"], e["rows_loaded"], e["rows_rejected"])
        for e in log
    } == {
        "clients/clients_2025-03-30.csv": ("clients", "loaded", 1, 1, 0),
        "clients/clients_2025-03-31.csv": ("clients", "loaded", 1, 1, 0),
        "payments/payments_2025-03-31.csv": ("payments", "loaded_with_rejects", 2, 1, 1),
        "hcpn/hcpn_C1.json": ("hcpn_reports", "loaded", 1, 1, 0),
        "payments/payments.txt": ("payments", "rejected", 0, 0, 0),
    }
    assert "rejected payments/payments.txt" in " ".join(early.stderr.split())


def test_ingest_of_a_missing_landing_folder_says_what_to_do(tmp_path: Path) -> None:
    result = riskmart(
        "ingest", "--landing", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb")
    )

    assert result.returncode == 2
    assert "does not exist" in " ".join(result.stderr.split())


def test_ingest_trusts_the_hash_cache_and_rehash_reads_every_file_again(tmp_path: Path) -> None:
    """The second ingest finds a file as the first left it (size and time) and does not read it: a rewrite
    that forges both goes unseen, until `--rehash` reads every file and loads it as a new delivery."""
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "wh" / "riskmart.duckdb"
    relpath = landing.csv("clients", [client_row("C1"), client_row("C2")])
    path, hour_ago = landing.root / relpath, (time.time_ns() - 3600 * 1_000_000_000,) * 2
    os.utime(path, ns=hour_ago)
    args = ("ingest", "--landing", str(landing.root), "--warehouse", str(warehouse))
    assert riskmart(*args).returncode == 0
    assert (warehouse.parent / "landing_hashes.json").is_file()

    path.write_bytes(path.read_bytes().replace(b"C2", b"C3"))  # same size
    os.utime(path, ns=hour_ago)  # and the same time

    def logged() -> list[str]:
        shown = riskmart("ingest-log", "--json", "--warehouse", str(warehouse))
        return [entry["file_id"] for entry in json.loads(shown.stdout)]

    assert riskmart(*args).returncode == 0
    assert len(logged()) == 1, "the rewrite went unseen"
    assert riskmart(*args, "--rehash").returncode == 0
    assert len(set(logged())) == 2, "--rehash read it: a new delivery of the path"
