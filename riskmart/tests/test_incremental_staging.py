"""The incremental staging models equal a full build, also after several new export dates arrive at once and
old files are re-delivered with corrected content.

Warehouse B ingests the files exported up to t and is built; then the rest of the export arrives together with
corrected re-deliveries of one old clients file and one old payments file, and B is built again
(incrementally). Warehouse A ingests the final landing at once and is built in full. Every staging relation
must hold the same rows in both (order-insensitive, duplicates counted), except `loaded_at`: the two
warehouses ingested the files at different times.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from demo.generate import generate_demo_data
from ingest.loader import ingest_landing
from riskmart.dbt import run_dbt
from riskmart.settings import Settings

END_DATE = date(2026, 6, 30)
CUTOFF = date(2026, 5, 31)
# old files (exported before t) re-delivered with corrected content after the first build
CORRECTED_DAY = date(2026, 5, 20)
STAGING = (
    "stg_lender__clients",
    "stg_lender__payments",
    "stg_lender__orders",
    "stg_lender__utilization_months",
    "stg_lender__payment_plans",
    "stg_hcpn__bureau_reports",
)
INCREMENTAL = (
    "stg_lender__clients",
    "stg_lender__payments",
    "stg_lender__orders",
    "stg_lender__utilization_months",
)

pytestmark = pytest.mark.slow


def _rewrite(path: Path, change: callable) -> dict:
    """Rewrite a CSV file in place: `change` edits the first data row, and the second data row is dropped.
    Returns the changed row and the dropped one."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        rows = list(reader)
    assert len(rows) >= 3, f"{path} is too small to correct"
    changed, dropped = dict(rows[0]), rows[1]
    change(changed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows([changed, *rows[2:]])
    return {"changed": changed, "dropped": dropped}


def _drop(path: Path, column: str, value: str) -> None:
    """Rewrite a CSV file without the rows whose `column` equals `value` (left alone when it has none)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        rows = list(reader)
    kept = [row for row in rows if row[column] != value]
    if len(kept) < len(rows):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(kept)


def _build(settings: Settings) -> Path:
    run_dbt(settings, ["build", "--select", "staging"])
    return settings.warehouse.resolve().parent / "dbt" / "target"


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("incremental_staging")
    landing = work / "landing"
    generate_demo_data(
        landing=landing,
        truth=work / "truth",
        clients=200,
        months=4,
        end_date=END_DATE,
        seed=5,
        dirty_rate=0.0,
        shift_months=0,
    )
    full = Settings(warehouse=work / "a" / "full.duckdb", landing=landing)
    incremental = Settings(warehouse=work / "b" / "incremental.duckdb", landing=landing)
    ingest_landing(landing, incremental.warehouse, as_of=CUTOFF)
    _build(incremental)

    clients_file = landing / "clients" / f"clients_{CORRECTED_DAY.isoformat()}.csv"
    payments_file = landing / "payments" / f"payments_{CORRECTED_DAY.isoformat()}.csv"
    corrections = {
        "clients": _rewrite(clients_file, lambda row: row.update(current_credit_limit="123456.0")),
        # a later created_at, so that the corrected copy wins over the copies in later overlapping exports
        "payments": _rewrite(
            payments_file,
            lambda row: row.update(payment_amount="4321.5", created_at=f"{CORRECTED_DAY} 23:59:59"),
        ),
    }
    # the dropped payment is withdrawn: every file that listed it is re-delivered without it, so no newest
    # delivery lists it any more and its staged row must go (plain delete+insert would keep it)
    withdrawn = corrections["payments"]["dropped"]["payment_id"]
    for path in sorted((landing / "payments").glob("payments_*.csv")):
        _drop(path, "payment_id", withdrawn)
    ingest_landing(landing, incremental.warehouse)
    target = _build(incremental)
    ingest_landing(landing, full.warehouse)
    _build(full)
    return {"full": full, "incremental": incremental, "target": target, "corrections": corrections}


def _connect(warehouses: dict) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{warehouses['full'].warehouse}' as a (read_only)")
    con.execute(f"attach '{warehouses['incremental'].warehouse}' as b (read_only)")
    return con


def test_the_second_build_was_incremental(warehouses: dict) -> None:
    for model in INCREMENTAL:
        statement = (
            warehouses["target"] / "run" / "riskmart" / "models" / "staging" / "lender" / f"{model}.sql"
        )
        text = statement.read_text().lower()
        assert "delete from" in text and "insert into" in text, f"{model} was not built incrementally"


def test_the_corrected_files_reached_staging(warehouses: dict) -> None:
    """The comparison only proves something if the re-delivered content differs from the first delivery."""
    clients = warehouses["corrections"]["clients"]
    payments = warehouses["corrections"]["payments"]
    with _connect(warehouses) as con:
        limit = con.execute(
            "select current_credit_limit from b.staging.stg_lender__clients where client_id = ? and export_date = ?",
            [clients["changed"]["client_id"], CORRECTED_DAY],
        ).fetchone()
        assert limit == (123456.0,)
        dropped = con.execute(
            "select count(*) from b.staging.stg_lender__clients where client_id = ? and export_date = ?",
            [clients["dropped"]["client_id"], CORRECTED_DAY],
        ).fetchone()[0]
        assert dropped == 0, "a client the corrected snapshot no longer lists is still staged for that date"
        amounts = con.execute(
            "select payment_amount from b.staging.stg_lender__payments where payment_id = ?",
            [int(payments["changed"]["payment_id"])],
        ).fetchall()
        assert amounts == [(4321.5,)]
        withdrawn = int(payments["dropped"]["payment_id"])
        for database in ("a", "b"):
            listed = con.execute(
                f"select count(*) from {database}.staging.stg_lender__payments where payment_id = ?",  # noqa: S608
                [withdrawn],
            ).fetchone()[0]
            assert listed == 0, f"{database}: the withdrawn payment is still staged"
        new_dates = con.execute(
            "select count(distinct export_date) from b.staging.stg_lender__clients where export_date > ?",
            [CUTOFF],
        ).fetchone()[0]
        assert new_dates >= 20, "the second build should stage many new export dates at once"


@pytest.mark.parametrize("model", STAGING)
def test_incremental_staging_equals_a_full_build(warehouses: dict, model: str) -> None:
    with _connect(warehouses) as con:
        rows = con.execute(f"select count(*) from a.staging.{model}").fetchone()[0]  # noqa: S608 (our constants)
        assert rows > 0
        for left, right in (("a", "b"), ("b", "a")):
            extra = con.execute(
                f"select count(*) from (select * exclude (loaded_at) from {left}.staging.{model}"  # noqa: S608 (our constants)
                f" except all select * exclude (loaded_at) from {right}.staging.{model})"
            ).fetchone()[0]
            assert extra == 0, f"{model}: {extra} of {rows} rows of {left} are not in {right}"


def _logged_changes(con: duckdb.DuckDBPyConnection, model: str) -> list[tuple]:
    return con.execute(
        "select client_id, first_affected_date, ingested_through from b.riskmart_meta.staged_changes"
        " where model_name = ? order by ingested_through, client_id",
        [f"model.riskmart.{model}"],
    ).fetchall()


def test_the_event_models_log_the_clients_whose_rows_changed(warehouses: dict) -> None:
    """The first build logs one whole-restage entry (no client); the incremental build logs the corrected
    and the withdrawn payment's clients from their payment dates, which lie before the cutoff."""
    payments = warehouses["corrections"]["payments"]
    with _connect(warehouses) as con:
        for model in ("stg_lender__payments", "stg_lender__orders"):
            logged = _logged_changes(con, model)
            first_watermark = logged[0][2]
            assert [row for row in logged if row[2] == first_watermark] == [(None, None, first_watermark)]
        by_client = {row[0]: row[1] for row in _logged_changes(con, "stg_lender__payments") if row[0]}
    for change in ("changed", "dropped"):
        client, paid = payments[change]["client_id"], date.fromisoformat(payments[change]["payment_date"])
        assert paid <= CORRECTED_DAY < CUTOFF
        assert client in by_client, f"the {change} payment's client was not logged"
        assert by_client[client] <= paid


def test_an_unchanged_re_delivery_logs_nothing(warehouses: dict) -> None:
    """A payments file delivered again with the same rows in another order is a new delivery whose keys are
    restaged, but no staged row changes: nothing is logged, so no feature date is rebuilt for it."""
    landing = warehouses["incremental"].landing
    path = landing / "payments" / f"payments_{END_DATE.isoformat()}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) > 3
    path.write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")
    with _connect(warehouses) as con:
        before = _logged_changes(con, "stg_lender__payments")
    result = ingest_landing(landing, warehouses["incremental"].warehouse)
    assert len(result.files) == 1, "the reordered file should load as a new delivery"
    target = _build(warehouses["incremental"])
    statement = target / "run" / "riskmart" / "models" / "staging" / "lender" / "stg_lender__payments.sql"
    assert "delete from" in statement.read_text(), "the file's keys were not restaged"
    with _connect(warehouses) as con:
        assert _logged_changes(con, "stg_lender__payments") == before
