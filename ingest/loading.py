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

from contract import HCPN_TABLE, INGEST_LOG_TABLE, LINEAGE_COLUMNS, QUARANTINE_TABLE, TableSpec
from ingest.batch import RECORDS, REJECTED_ROWS, BatchFile, PhaseClock
from ingest.log import insert_log_entries
from ingest.quarantine import insert_quarantine_records, insert_rejected_csv_records
from ingest.reading import line_sql
from ingest.validation import load_sql, quote_ident
from ingest.writer import RawWriter

# The contract: a bureau report without defaults_bureau reports none.
LOAD_DEFAULTS = {(HCPN_TABLE, "defaults_bureau"): "0"}


def commit_batch(
    con: duckdb.DuckDBPyConnection,
    writer: RawWriter,
    spec: TableSpec,
    files: list[BatchFile],
    quarantine: pd.DataFrame,
    entries: list[dict],
    loaded_at: datetime,
    clock: PhaseClock,
) -> None:
    """All or nothing (`RawWriter.batch`): the typed rows, the quarantine records and the log rows of the
    batch."""
    with writer.batch(con, [spec.name, QUARANTINE_TABLE, INGEST_LOG_TABLE], clock) as target:
        if files:
            with clock("insert"):
                insert_typed_rows(con, spec, loaded_at, target[spec.name])
        with clock("quarantine"):
            insert_rejected_csv_records(con, spec, files, loaded_at, target[QUARANTINE_TABLE])
        insert_quarantine_records(con, quarantine, loaded_at, target[QUARANTINE_TABLE])
        insert_log_entries(con, entries, target[INGEST_LOG_TABLE])


def commit_log_entries(
    con: duckdb.DuckDBPyConnection, writer: RawWriter, entries: list[dict], clock: PhaseClock
) -> None:
    """Log rows alone, all or nothing (deliveries rejected whole: nothing else to write)."""
    with writer.batch(con, [INGEST_LOG_TABLE], clock) as target:
        insert_log_entries(con, entries, target[INGEST_LOG_TABLE])


def insert_typed_rows(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, loaded_at: datetime, target: str
) -> None:
    """Every record of `RECORDS` not in `REJECTED_ROWS`, cast to the contract's types, with its lineage,
    into `target` (the raw table, or the table on `con` the writer loads it from)."""
    join, line = line_sql()
    typed = ", ".join(
        f"COALESCE({load_sql(c.name, c.type)}, {LOAD_DEFAULTS[spec.name, c.name]})"
        if (spec.name, c.name) in LOAD_DEFAULTS
        else load_sql(c.name, c.type)
        for c in spec.columns
    )
    columns = ", ".join(quote_ident(c) for c in [*spec.column_names, *LINEAGE_COLUMNS])
    con.execute(
        f"INSERT INTO {target} ({columns}) "
        f"SELECT {typed}, fl.file_id, fl.source_file, {line}, fl.export_date, $loaded_at "
        f"FROM {RECORDS} AS b {join} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {REJECTED_ROWS} AS r WHERE r.row = b.rowid)",
        {"loaded_at": loaded_at},
    )
