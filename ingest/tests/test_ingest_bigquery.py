"""Ingest into BigQuery (ingest/bigquery.py) against the local emulator (riskmart/tests/bigquery_emulator.py),
compared with the DuckDB ingest of the same files. `pytest -k bigquery` selects these tests.

The BigQuery ingest reads its landing from fsspec's `memory://` file system (a copy of the local folder the
DuckDB ingest reads): the same fsspec listing and reading calls a `gs://` landing goes through with gcsfs,
which cannot be reached here. Day one is ingested; day two first through a writer whose move transaction
fails half way (a real failing statement after the raw rows' INSERT), then again through the plain writer;
then a third run that has nothing to load.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import fsspec
import pytest

from conftest import DEMO_END_DATE, write_demo_export
from contract import CSV_TABLES_BY_NAME, INGEST_LOG_TABLE, QUARANTINE_TABLE
from ingest.bigquery import BIGQUERY_TYPES, BigQueryRawWriter
from ingest.loader import IngestResult, ingest_landing, read_ingest_log
from ingest.tests.landing_files import client_row, plan_row
from ingest.writer import raw_tables
from riskmart.tests.bigquery_emulator import Emulator, running_emulator

pytestmark = pytest.mark.slow

FIRST_DAY = DEMO_END_DATE - timedelta(days=1)
MEMORY_LANDING = "memory://riskmart-ingest-bigquery/landing"
# columns that say when the run happened, different between any two runs
RUN_TIME_COLUMNS = {"_loaded_at", "loaded_at", "started_at", "finished_at", "duration_seconds"}
BAD_PAYMENTS = f"payments/payments_{FIRST_DAY.isoformat()}.csv"
PLANS = f"payment_plans/payment_plans_{FIRST_DAY.isoformat()}.csv"
LATE_CLIENT = "CL-09999999"


class FailingMoveWriter(BigQueryRawWriter):
    """A writer whose move transaction runs a statement BigQuery fails right after the raw rows' INSERT."""

    def move_statements(self, staged: dict[str, str]) -> list[str]:
        statements = super().move_statements(staged)
        return [statements[0], "SELECT ERROR('crash injected between the raw rows and the log row');"] + (
            statements[1:]
        )


@dataclass(frozen=True)
class Ingested:
    emulator: Emulator
    writer: BigQueryRawWriter
    duckdb_path: Path
    failed: Exception
    counts_before_failure: dict[str, int]
    counts_after_failure: dict[str, int]
    second: IngestResult
    rerun: IngestResult
    counts_after_second: dict[str, int]


def _add_bad_rows(landing: Path) -> None:
    """Two payments of an existing file made invalid (a negative amount, a date that is no date), and a
    payment plans file (the demo's are empty) with a plan of a client that arrives only the next day: it is
    quarantined for `client_id:client_exists` on day one and replayed on day two."""
    path = landing / BAD_PAYMENTS
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 2, "the demo export has too few payments that day for this test"
    rows[0]["payment_amount"] = "-5"
    rows[1]["payment_date"] = "2026-02-30"
    _write_csv(path, rows)
    known = rows[0]["client_id"]
    _write_csv(landing / PLANS, [plan_row(1, known, FIRST_DAY), plan_row(2, LATE_CLIENT, FIRST_DAY)])
    clients = landing / "clients" / f"clients_{DEMO_END_DATE.isoformat()}.csv"
    with clients.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    _write_csv(clients, [*rows, client_row(LATE_CLIENT, DEMO_END_DATE)])


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _to_memory(landing: Path) -> None:
    fs = fsspec.filesystem("memory")
    if fs.exists(MEMORY_LANDING):
        fs.rm(MEMORY_LANDING, recursive=True)
    for path in sorted(landing.rglob("*")):
        if path.is_file():
            fs.pipe(f"{MEMORY_LANDING}/{path.relative_to(landing).as_posix()}", path.read_bytes())


def _bigquery_counts(writer: BigQueryRawWriter) -> dict[str, int]:
    client = writer.client
    return {
        table: next(iter(client.query(f"SELECT count(*) FROM `{writer.table_id(table)}`").result()))[0]
        for table in raw_tables()
    }


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    work = tmp_path_factory.mktemp("ingest_bigquery")
    landing, _ = write_demo_export(work, clients=12, months=2)
    _add_bad_rows(landing)
    duckdb_path = work / "duckdb" / "riskmart.duckdb"
    ingest_landing(landing, duckdb_path, as_of=FIRST_DAY)
    ingest_landing(landing, duckdb_path, as_of=DEMO_END_DATE)
    _to_memory(landing)
    with running_emulator(work / "emulator.log") as emulator:
        client = emulator.client()
        writer = BigQueryRawWriter(client, emulator.project)
        ingest_landing(MEMORY_LANDING, writer, as_of=FIRST_DAY)
        before = _bigquery_counts(writer)
        with pytest.raises(Exception, match="crash injected") as failed:
            ingest_landing(MEMORY_LANDING, FailingMoveWriter(client, emulator.project), as_of=DEMO_END_DATE)
        after_failure = _bigquery_counts(writer)
        second = ingest_landing(MEMORY_LANDING, writer, as_of=DEMO_END_DATE)
        after_second = _bigquery_counts(writer)
        rerun = ingest_landing(MEMORY_LANDING, writer, as_of=DEMO_END_DATE)
        yield Ingested(
            emulator, writer, duckdb_path, failed.value, before, after_failure, second, rerun, after_second
        )
    fsspec.filesystem("memory").rm(MEMORY_LANDING, recursive=True)


def _normalized(names: list[str], rows: list[tuple], json_columns: set[str]) -> list[tuple]:
    """Rows without the run-time columns, JSON as sorted text, sorted."""
    out = []
    for row in rows:
        values = []
        for name, value in zip(names, row, strict=True):
            if name in RUN_TIME_COLUMNS:
                continue
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            if name in json_columns and value is not None:
                value = json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)
            values.append(value)
        out.append(tuple(values))
    return sorted(out, key=repr)


def _table_rows(ingested: Ingested, table: str) -> tuple[list[tuple], list[tuple]]:
    """(BigQuery rows, DuckDB rows) of a raw table, normalized."""
    columns = raw_tables()[table]
    names = list(columns)
    json_columns = {name for name, type_ in columns.items() if type_ == "JSON"}
    select = ", ".join(f"`{n}`" for n in names)
    bigquery = [
        tuple(row.values())
        for row in ingested.writer.client.query(
            f"SELECT {select} FROM `{ingested.writer.table_id(table)}`"
        ).result()
    ]
    with duckdb.connect(str(ingested.duckdb_path), read_only=True) as con:
        quoted = ", ".join(f'"{n}"' for n in names)
        local = con.execute(f"SELECT {quoted} FROM raw.{table}").fetchall()  # noqa: S608
    return _normalized(names, bigquery, json_columns), _normalized(names, local, json_columns)


@pytest.mark.parametrize("table", sorted(raw_tables()))
def test_bigquery_ingest_equals_the_duckdb_ingest(ingested: Ingested, table: str) -> None:
    """Every raw table, the quarantine and the ingest log hold the same rows as the DuckDB ingest of the same
    files (all but the columns saying when the run happened), in the same BigQuery types."""
    bigquery, local = _table_rows(ingested, table)
    assert len(bigquery) == len(local)
    assert bigquery == local
    if table in CSV_TABLES_BY_NAME or table == INGEST_LOG_TABLE:
        assert local, f"the demo export loads no {table} row: the comparison proves nothing"
    # the client names some types the legacy way (FLOAT, INTEGER), the emulator the standard way
    legacy = {"FLOAT": "FLOAT64", "INTEGER": "INT64"}
    fields = ingested.writer.client.get_table(ingested.writer.table_id(table)).schema
    schema = {f.name: legacy.get(f.field_type, f.field_type) for f in fields}
    assert schema == {c: BIGQUERY_TYPES[t.split()[0]] for c, t in raw_tables()[table].items()}


def test_bigquery_ingest_quarantines_bad_rows_with_their_reasons(ingested: Ingested) -> None:
    """The two payments made invalid are in the quarantine with the rule each broke, verbatim, and the log
    says the file loaded with rejects."""
    writer = ingested.writer
    rows = list(
        writer.client.query(
            f"SELECT line_number, TO_JSON_STRING(rules_broken), TO_JSON_STRING(record) "
            f"FROM `{writer.table_id(QUARANTINE_TABLE)}` WHERE source_file = '{BAD_PAYMENTS}' ORDER BY 1"
        ).result()
    )
    rules = {row[0]: json.loads(row[1]) for row in rows}
    assert set(rules) == {2, 3}, rows
    assert rules[2] == ["payment_amount:greater_than_0"], rules
    assert rules[3] == ["payment_date:type_date"], rules
    assert json.loads(rows[0][2])["payment_amount"] == "-5"
    (log,) = [e for e in read_ingest_log(writer) if e["file"] == BAD_PAYMENTS]
    assert log["status"] == "loaded_with_rejects" and log["rows_rejected"] == 2, log
    assert "payment_amount:greater_than_0 (1)" in log["message"], log


def test_bigquery_ingest_crash_in_the_move_leaves_nothing_and_the_rerun_completes(ingested: Ingested) -> None:
    """The move that failed half way (after the raw rows' INSERT) left every table as it was; the next run
    loaded the day, and the one after it loaded nothing."""
    assert ingested.counts_after_failure == ingested.counts_before_failure
    assert ingested.counts_after_second[INGEST_LOG_TABLE] > ingested.counts_before_failure[INGEST_LOG_TABLE]
    assert ingested.second.files
    # the plan of the client that arrived on day two was replayed (the BigQuery replay query found it)
    assert ingested.second.replayed == [PLANS]
    assert ingested.rerun.files == [] and ingested.rerun.skipped > 0
    assert _bigquery_counts(ingested.writer) == ingested.counts_after_second
    # no staging table survives a batch, failed or not
    tables = [t.table_id for t in ingested.writer.client.list_tables(f"{ingested.emulator.project}.raw")]
    assert not [t for t in tables if t.startswith("_ingest_staging_")], tables


def test_bigquery_ingest_log_reads_back_like_duckdb(ingested: Ingested) -> None:
    """`read_ingest_log` of the BigQuery writer gives the DuckDB log's entries, timestamps naive UTC."""
    bigquery, local = read_ingest_log(ingested.writer), read_ingest_log(ingested.duckdb_path)
    drop = RUN_TIME_COLUMNS
    assert sorted(({k: v for k, v in e.items() if k not in drop} for e in bigquery), key=repr) == sorted(
        ({k: v for k, v in e.items() if k not in drop} for e in local), key=repr
    )
    assert all(datetime.fromisoformat(e["finished_at"]).tzinfo is None for e in bigquery)
