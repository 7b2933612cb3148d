"""Loading: the records that passed, typed, into `raw.<table>` with lineage columns, in one transaction
with the batch's quarantine records and log rows, so a crash at any point leaves each delivery either fully
loaded and logged or absent, and the next run loads exactly what is missing.
"""

# SQL here interpolates only our own identifiers (contract names, working tables); values are parameters.
# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from contract import (
    CSV_TABLES,
    HCPN_TABLE,
    INGEST_LOG_TABLE,
    LINEAGE_COLUMNS,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    TableSpec,
)
from ingest.batch import RECORDS, REJECTED_ROWS, BatchFile, PhaseClock
from ingest.log import INGEST_LOG_COLUMNS, insert_log_entries
from ingest.quarantine import QUARANTINE_COLUMNS, insert_quarantine_records, insert_rejected_csv_records
from ingest.reading import line_sql
from ingest.validation import HCPN_SPEC, load_sql, quote_ident

# The contract: a bureau report without defaults_bureau reports none.
LOAD_DEFAULTS = {(HCPN_TABLE, "defaults_bureau"): "0"}


def raw_table_specs() -> tuple[TableSpec, ...]:
    return (*CSV_TABLES, HCPN_SPEC)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its tables when missing (idempotent)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for spec in raw_table_specs():
        columns = {c.name: c.type for c in spec.columns} | LINEAGE_COLUMNS
        _create(con, spec.name, columns)
    _create(con, QUARANTINE_TABLE, QUARANTINE_COLUMNS)
    _create(con, INGEST_LOG_TABLE, INGEST_LOG_COLUMNS)


def _create(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    body = ", ".join(f"{quote_ident(name)} {type_}" for name, type_ in columns.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{table} ({body})")


def commit_batch(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: list[BatchFile],
    quarantine: pd.DataFrame,
    entries: list[dict],
    loaded_at: datetime,
    clock: PhaseClock,
) -> None:
    """One transaction: the typed rows, the quarantine records and the log rows of the batch."""
    con.execute("BEGIN TRANSACTION")
    try:
        if files:
            with clock("insert"):
                insert_typed_rows(con, spec, loaded_at)
        with clock("quarantine"):
            insert_rejected_csv_records(con, spec, files, loaded_at)
        insert_quarantine_records(con, quarantine, loaded_at)
        insert_log_entries(con, entries)
        with clock("commit"):
            con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def commit_log_entries(con: duckdb.DuckDBPyConnection, entries: list[dict]) -> None:
    """Log rows alone, in one transaction (deliveries rejected whole: nothing else to write)."""
    con.execute("BEGIN TRANSACTION")
    try:
        insert_log_entries(con, entries)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def insert_typed_rows(con: duckdb.DuckDBPyConnection, spec: TableSpec, loaded_at: datetime) -> None:
    """Every record of `RECORDS` not in `REJECTED_ROWS`, cast to the contract's types, with its lineage."""
    join, line = line_sql()
    typed = ", ".join(
        f"COALESCE({load_sql(c.name, c.type)}, {LOAD_DEFAULTS[spec.name, c.name]})"
        if (spec.name, c.name) in LOAD_DEFAULTS
        else load_sql(c.name, c.type)
        for c in spec.columns
    )
    columns = ", ".join(quote_ident(c) for c in [*spec.column_names, *LINEAGE_COLUMNS])
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}.{spec.name} ({columns}) "
        f"SELECT {typed}, fl.file_id, fl.source_file, {line}, fl.export_date, $loaded_at "
        f"FROM {RECORDS} AS b {join} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {REJECTED_ROWS} AS r WHERE r.row = b.rowid)",
        {"loaded_at": loaded_at},
    )
