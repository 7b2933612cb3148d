"""Runs over time: idempotency, re-deliveries, as_of, batching, order, and the counts invariant."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from ingest.loader import ingest_landing, read_ingest_log
from ingest.tests.landing_files import (
    EXPORT,
    Landing,
    assert_counts_reconcile,
    bureau_report,
    by_file,
    client_row,
    csv_bytes,
    order_row,
    payment_row,
    quarantine,
    query,
    raw_contents,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo export with dirty rows and broken files, as the generator writes it."""
    from demo.generate import generate_demo_data

    root = tmp_path_factory.mktemp("generated")
    generate_demo_data(
        landing=root / "landing",
        truth=root / "truth",
        clients=60,
        months=3,
        end_date=date(2025, 6, 30),
        seed=11,
        dirty_rate=0.03,
        shift_months=0,
    )
    return root / "landing"


def test_generated_landing_reconciles_for_every_file(generated: Path, tmp_path: Path) -> None:
    result = ingest_landing(generated, tmp_path / "w.duckdb")

    assert len(result.files) == sum(1 for p in generated.rglob("*") if p.is_file())
    for entry in result.files:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_rejected"], entry
    assert_counts_reconcile(tmp_path / "w.duckdb")
    assert sum(f["rows_rejected"] for f in result.files) > 0
    assert any(f["status"] == "rejected" for f in result.files)


def test_second_run_loads_nothing_and_leaves_the_log_unchanged(generated: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    ingest_landing(generated, warehouse)
    before_log, before = read_ingest_log(warehouse), raw_contents(warehouse)
    for path in generated.rglob("*.csv"):
        os.utime(path)  # touched but unchanged: the content decides, not the mtime

    again = ingest_landing(generated, warehouse)

    assert again.files == []
    assert again.skipped == len(before_log)
    assert read_ingest_log(warehouse) == before_log
    assert raw_contents(warehouse) == before


def test_batching_and_discovery_order_do_not_change_the_result(generated: Path, tmp_path: Path) -> None:
    one = tmp_path / "one.duckdb"
    ingest_landing(generated, one)
    # the same files copied in reverse order, loaded in many small batches
    copy = tmp_path / "copy"
    for path in sorted(generated.rglob("*"), reverse=True):
        if path.is_file():
            target = copy / path.relative_to(generated)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    many = tmp_path / "many.duckdb"
    ingest_landing(copy, many, batch_bytes=256 * 1024)

    assert raw_contents(many) == raw_contents(one)


def test_a_corrected_redelivery_loads_again_as_a_new_delivery(tmp_path: Path) -> None:
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    landing.csv("clients", [client_row("C1")])
    relpath = landing.csv("payments", [payment_row(1, "C1", payment_amount="-5"), payment_row(2, "C1")])
    first = ingest_landing(landing.root, warehouse)
    landing.csv("payments", [payment_row(1, "C1", payment_amount="5"), payment_row(2, "C1")])

    second = ingest_landing(landing.root, warehouse)

    assert [f["file"] for f in second.files] == [relpath]
    assert by_file(second.files)[relpath]["file_id"] != by_file(first.files)[relpath]["file_id"]
    assert by_file(second.files)[relpath]["status"] == "loaded"
    deliveries = query(
        warehouse, "SELECT _file_id, count(*) AS n FROM raw.payments GROUP BY 1 ORDER BY n"
    )  # the raw layer keeps both deliveries; staging lets the newest win
    assert [d["n"] for d in deliveries] == [1, 2]
    assert len(read_ingest_log(warehouse)) == 3
    assert_counts_reconcile(warehouse)


def test_a_path_put_back_to_earlier_content_is_delivered_again(tmp_path: Path) -> None:
    """A, then a correction B, then A again (the correction withdrawn): A's content is what the path holds
    now, so it loads again as a third delivery, and the newest delivery is A's rows."""
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    landing.csv("clients", [client_row("C1")])
    content_a = [payment_row(1, "C1", payment_amount="10"), payment_row(2, "C1")]
    relpath = landing.csv("payments", content_a)
    first = by_file(ingest_landing(landing.root, warehouse).files)[relpath]
    landing.csv("payments", [payment_row(1, "C1", payment_amount="12")])
    second = by_file(ingest_landing(landing.root, warehouse).files)[relpath]
    landing.csv("payments", content_a)

    third = by_file(ingest_landing(landing.root, warehouse).files)[relpath]

    assert third["status"] == "loaded" and third["rows_loaded"] == 2
    assert len({first["file_id"], second["file_id"], third["file_id"]}) == 3
    assert ingest_landing(landing.root, warehouse).files == []  # and a re-run loads it no more
    newest = query(
        warehouse,
        "SELECT p.payment_id, p.payment_amount FROM raw.payments p JOIN raw.ingest_log l ON p._file_id = l.file_id"
        " WHERE l.file = ? AND l.finished_at = (SELECT max(finished_at) FROM raw.ingest_log WHERE file = ?)"
        " ORDER BY 1",
        [relpath, relpath],
    )
    assert sorted(float(r["payment_amount"]) for r in newest) == [10.0, 150000.0]
    assert_counts_reconcile(warehouse)


def test_rows_quarantined_for_an_unknown_client_load_once_the_client_arrives(tmp_path: Path) -> None:
    """A payments file names C2 before any clients file does: its row is quarantined. The next day's
    clients file brings C2, so the payments file is replayed (a new delivery of the same content) and the
    row loads; the quarantine keeps the old rejection, and a further run replays nothing."""
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    day = EXPORT - timedelta(days=1)
    landing.csv("clients", [client_row("C1", day)], export=day)
    payments = landing.csv(
        "payments",
        [
            payment_row(1, "C1", day),
            payment_row(2, "C2", day),
            payment_row(3, "C3", day, payment_amount="-1"),
        ],
        export=day,
    )
    first = ingest_landing(landing.root, warehouse)
    assert by_file(first.files)[payments]["rows_loaded"] == 1
    assert first.replayed == []
    landing.csv("clients", [client_row("C1"), client_row("C2"), client_row("C3")])

    second = ingest_landing(landing.root, warehouse)

    assert second.replayed == [payments]
    replay = by_file(second.files)[payments]
    assert replay["file_id"] != by_file(first.files)[payments]["file_id"]
    # C2's row loads now; C3's row also broke the amount rule, so it stays rejected
    assert (replay["rows_loaded"], replay["rows_rejected"]) == (2, 1)
    rules = sorted(tuple(q["rules_broken"]) for q in quarantine(warehouse) if q["source_file"] == payments)
    assert rules == [
        ("client_id:client_exists",),
        ("client_id:client_exists", "payment_amount:greater_than_0"),
        ("payment_amount:greater_than_0",),
    ]
    third = ingest_landing(landing.root, warehouse)
    assert third.files == [] and third.replayed == []
    assert_counts_reconcile(warehouse)


def test_no_replay_without_the_file_or_while_the_client_is_still_unknown(tmp_path: Path) -> None:
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    day = EXPORT - timedelta(days=1)
    landing.csv("clients", [client_row("C1", day)], export=day)
    payments = landing.csv("payments", [payment_row(1, "C2", day)], export=day)
    orders = landing.csv("orders", [order_row(1, "C2", day)], export=day)
    ingest_landing(landing.root, warehouse)
    landing.csv("clients", [client_row("C1")])  # C2 still unknown
    assert ingest_landing(landing.root, warehouse).replayed == []
    (landing.root / payments).unlink()  # the payments file is gone from the landing folder
    landing.csv("clients", [client_row("C1"), client_row("C2")], export=EXPORT + timedelta(days=1))

    later = ingest_landing(landing.root, warehouse)

    assert later.replayed == [orders]
    assert_counts_reconcile(warehouse)


def test_a_file_rejected_whole_loads_once_it_is_fixed(tmp_path: Path) -> None:
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    relpath = "clients/clients_2025-03-31.csv"
    landing.write(relpath, b"id;name\n1;x\n")
    assert by_file(ingest_landing(landing.root, warehouse).files)[relpath]["status"] == "rejected"
    assert ingest_landing(landing.root, warehouse).files == []  # the same bad content is not retried

    landing.csv("clients", [client_row("C1")])

    assert by_file(ingest_landing(landing.root, warehouse).files)[relpath]["status"] == "loaded"


def test_as_of_loads_only_files_exported_by_then_and_a_later_run_catches_up(tmp_path: Path) -> None:
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    days = [EXPORT - timedelta(days=2), EXPORT - timedelta(days=1), EXPORT]
    for day in days:
        landing.csv("clients", [client_row("C1", updated_at=f"{day} 08:00:00")], export=day)
    landing.bureau("C1", bureau_report(fecha=EXPORT.isoformat()))
    landing.bureau("C2", bureau_report(fecha=days[0].isoformat()))

    early = ingest_landing(landing.root, warehouse, as_of=days[1])

    assert sorted(f["file"] for f in early.files) == [
        f"clients/clients_{days[0]}.csv",
        f"clients/clients_{days[1]}.csv",
        "hcpn/hcpn_C2.json",
    ]
    assert early.not_yet_due == 2
    late = ingest_landing(landing.root, warehouse)
    assert sorted(f["file"] for f in late.files) == [f"clients/clients_{EXPORT}.csv", "hcpn/hcpn_C1.json"]
    assert query(warehouse, "SELECT count(*) AS n FROM raw.clients") == [{"n": 3}]


def test_many_files_in_one_batch_keep_their_line_numbers(tmp_path: Path) -> None:
    """Line numbers come from read order; large multi-file reads run on several threads."""
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    landing.csv("clients", [client_row("C1")])
    header = list(payment_row(1, "C1"))
    for offset in range(3):
        day = EXPORT - timedelta(days=offset)
        rows = []
        for line in range(2, 40_002):
            amount = "-1" if line % 9973 == 0 else "10"
            # payment_id encodes file and line, so the test can check where each row came from
            rows.append(
                payment_row(offset * 1_000_000 + line, "C1", payment_date=str(day), payment_amount=amount)
            )
        landing.write(f"payments/payments_{day}.csv", csv_bytes(header, rows, crlf=offset == 1))

    ingest_landing(landing.root, warehouse)

    mismatched = query(
        warehouse,
        "SELECT count(*) AS n, count(DISTINCT _source_file) AS files FROM raw.payments "
        "WHERE payment_id % 1000000 <> _line_number",
    )
    assert mismatched == [{"n": 0, "files": 0}]
    bad = [r for r in quarantine(warehouse) if r["table_name"] == "payments"]
    assert len(bad) == 3 * 4
    assert all(int(r["record"]["payment_id"]) % 1_000_000 == r["line_number"] for r in bad)
    assert query(warehouse, "SELECT count(*) AS n FROM raw.payments") == [{"n": 3 * (40_000 - 4)}]


def test_ingest_log_rows_are_json_ready(tmp_path: Path) -> None:
    landing, warehouse = Landing(tmp_path / "landing"), tmp_path / "w.duckdb"
    landing.csv("clients", [client_row("C1")])
    ingest_landing(landing.root, warehouse)

    (entry,) = json.loads(json.dumps(read_ingest_log(warehouse)))

    assert entry["export_date"] == EXPORT.isoformat()
    assert entry["table"] == "clients" and entry["status"] == "loaded"


def test_read_ingest_log_of_a_fresh_warehouse_is_empty(tmp_path: Path) -> None:
    assert read_ingest_log(tmp_path / "missing.duckdb") == []
