"""Where ingest writes: the raw tables, `raw.quarantine` and `raw.ingest_log`, behind one interface.

Every run reads, validates and types its records in DuckDB (the working tables of ingest/batch.py, on the
run's working connection); a `RawWriter` is what the run needs from the warehouse that keeps the result:

* `open()`: the run's working connection (DuckDB: the warehouse file itself; BigQuery: an in-memory DuckDB);
* `ensure_tables`: the raw tables, the quarantine and the ingest log, created when missing;
* `delivery_history`, `replay_candidates`, `create_known_clients`: what the log, the quarantine and
  `raw.clients` already hold (what is due, what is replayed, the clients the client-exists rule knows);
* `batch`: one batch's typed rows, quarantine records and log rows written so that each delivery is either
  fully loaded and logged or absent, whatever happens on the way;
* `read_ingest_log`: the whole log, oldest first.

`DuckDBRawWriter` (here) writes a DuckDB warehouse file; `ingest.bigquery.BigQueryRawWriter` a BigQuery
dataset. The raw tables have the same columns and types on both (contract/__init__.py, in DuckDB's names).
"""

# SQL here interpolates only our own identifiers (contract names, working tables); values are parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import duckdb

from contract import CSV_TABLES, INGEST_LOG_TABLE, LINEAGE_COLUMNS, QUARANTINE_TABLE, RAW_SCHEMA, TableSpec
from ingest.batch import PhaseClock
from ingest.validation import HCPN_SPEC, quote_ident
from ingest.warehouse import connect_warehouse

QUARANTINE_COLUMNS: dict[str, str] = {
    "_file_id": "VARCHAR",
    "source_file": "VARCHAR",
    "table_name": "VARCHAR",
    "line_number": "BIGINT",
    "record": "JSON",
    "rules_broken": "JSON",
    "export_date": "DATE",
    "loaded_at": "TIMESTAMP",
}

INGEST_LOG_COLUMNS: dict[str, str] = {
    "file_id": "VARCHAR PRIMARY KEY",
    "file": "VARCHAR NOT NULL",
    "table_name": "VARCHAR",
    "content_hash": "VARCHAR NOT NULL",
    "export_date": "DATE",
    "rows_read": "BIGINT NOT NULL",
    "rows_loaded": "BIGINT NOT NULL",
    "rows_rejected": "BIGINT NOT NULL",
    "status": "VARCHAR NOT NULL",
    "message": "VARCHAR",
    "started_at": "TIMESTAMP",
    "finished_at": "TIMESTAMP",
    "duration_seconds": "DOUBLE",
}


def raw_table_specs() -> tuple[TableSpec, ...]:
    return (*CSV_TABLES, HCPN_SPEC)


def raw_tables() -> dict[str, dict[str, str]]:
    """Every table ingest writes, with its columns and their DuckDB types (constraints included)."""
    tables = {
        spec.name: {c.name: c.type for c in spec.columns} | LINEAGE_COLUMNS for spec in raw_table_specs()
    }
    return tables | {QUARANTINE_TABLE: QUARANTINE_COLUMNS, INGEST_LOG_TABLE: INGEST_LOG_COLUMNS}


# The newest content each path delivered, from the ingest log: (file, content_hash, is that the newest)
DELIVERY_HISTORY_SQL = f"""
    SELECT file, content_hash,
        content_hash = last_value(content_hash) OVER (
            PARTITION BY file ORDER BY finished_at, file_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS is_latest
    FROM {RAW_SCHEMA}.{INGEST_LOG_TABLE}
"""

# The (file, content hash) of `$table` whose newest loaded delivery quarantined rows for the client-exists
# rule alone, for a client first loaded after that delivery (ingest.log.replays_for_known_clients)
REPLAY_CANDIDATES_SQL = f"""
    WITH newest AS (
        SELECT file, file_id, content_hash, finished_at
        FROM {RAW_SCHEMA}.{INGEST_LOG_TABLE}
        WHERE table_name = $table AND status IN ('loaded', 'loaded_with_rejects')
        QUALIFY row_number() OVER (PARTITION BY file ORDER BY finished_at DESC, file_id DESC) = 1
    ),
    unknown_client_rows AS (
        SELECT newest.file, newest.content_hash, newest.finished_at,
            json_extract_string(rejected.record, '$.client_id') AS client_id
        FROM newest
        JOIN {RAW_SCHEMA}.{QUARANTINE_TABLE} AS rejected ON rejected._file_id = newest.file_id
        WHERE json_array_length(rejected.rules_broken) = 1
            AND json_extract_string(rejected.rules_broken, '$[0]') = $rule
    ),
    first_loaded AS (
        SELECT client_id, min(_loaded_at) AS first_loaded_at
        FROM {RAW_SCHEMA}.clients
        WHERE client_id IN (SELECT client_id FROM unknown_client_rows)
        GROUP BY client_id
    )
    SELECT DISTINCT rows_.file, rows_.content_hash
    FROM unknown_client_rows AS rows_
    JOIN first_loaded USING (client_id)
    WHERE first_loaded.first_loaded_at > rows_.finished_at
"""


@runtime_checkable
class RawWriter(Protocol):
    """What an ingest run needs from the warehouse that keeps the raw tables (module docstring)."""

    def open(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """The run's working connection, where a batch's working tables live; closed after the run."""
        ...

    def ensure_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the raw tables, the quarantine and the ingest log when missing (idempotent)."""
        ...

    def delivery_history(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, bool]]:
        """(file, content_hash, is it the content the path delivered last) of every ingest log row."""
        ...

    def replay_candidates(
        self, con: duckdb.DuckDBPyConnection, table: str, rule: str
    ) -> set[tuple[str, str]]:
        """(file, content_hash) of `table` to replay (`REPLAY_CANDIDATES_SQL` says which)."""
        ...

    def create_known_clients(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """The working table `name` (client_id) of every client id in `raw.clients`."""
        ...

    def batch(
        self, con: duckdb.DuckDBPyConnection, tables: list[str], clock: PhaseClock
    ) -> AbstractContextManager[dict[str, str]]:
        """One batch, all or nothing: yields, for each table of `tables`, the name of the table on `con` that
        its rows are inserted into; when the block ends they are in the warehouse, each delivery's rows
        with its log row; when it raises, nothing of the batch is."""
        ...

    def read_ingest_log(self) -> list[tuple[list[str], list[tuple]]]:
        """(column names, rows) of the whole ingest log, oldest first; ([], []) when there is none."""
        ...


class DuckDBRawWriter:
    """The raw schema of a DuckDB warehouse file: the run works on the file's own connection, and a batch is
    one DuckDB transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DuckDBRawWriter({str(self.path)!r})"

    @contextmanager
    def open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with connect_warehouse(self.path) as con:
            configure_work_connection(con)
            yield con

    def ensure_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        for table, columns in raw_tables().items():
            body = ", ".join(f"{quote_ident(name)} {type_}" for name, type_ in columns.items())
            con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{table} ({body})")

    def delivery_history(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, bool]]:
        return con.execute(DELIVERY_HISTORY_SQL).fetchall()

    def replay_candidates(
        self, con: duckdb.DuckDBPyConnection, table: str, rule: str
    ) -> set[tuple[str, str]]:
        return set(con.execute(REPLAY_CANDIDATES_SQL, {"table": table, "rule": rule}).fetchall())

    def create_known_clients(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT DISTINCT client_id FROM {RAW_SCHEMA}.clients"
        )

    @contextmanager
    def batch(
        self, con: duckdb.DuckDBPyConnection, tables: list[str], clock: PhaseClock
    ) -> Iterator[dict[str, str]]:
        con.execute("BEGIN TRANSACTION")
        try:
            yield {table: f"{RAW_SCHEMA}.{table}" for table in tables}
            with clock("commit"):
                con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def read_ingest_log(self) -> list[tuple[list[str], list[tuple]]]:
        if not self.path.exists():
            return [], []
        with connect_warehouse(self.path, read_only=True) as con:
            present = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [RAW_SCHEMA, INGEST_LOG_TABLE],
            ).fetchone()[0]
            if not present:
                return [], []
            cursor = con.execute(
                f"SELECT * FROM {RAW_SCHEMA}.{INGEST_LOG_TABLE} ORDER BY finished_at, file, file_id"
            )
            return [d[0] for d in cursor.description], cursor.fetchall()


def configure_work_connection(con: duckdb.DuckDBPyConnection) -> None:
    # only reading a batch needs the read order (line numbers); elsewhere order is free to change
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")


def as_writer(warehouse: Path | str | RawWriter) -> RawWriter:
    """A warehouse path is a DuckDB file; anything else must be a `RawWriter` already."""
    if isinstance(warehouse, str | Path):
        return DuckDBRawWriter(Path(warehouse))
    if not isinstance(warehouse, RawWriter):
        raise TypeError(
            f"the warehouse must be a DuckDB file path or a RawWriter (e.g. ingest.bigquery.BigQueryRawWriter),"
            f" not {type(warehouse).__name__}"
        )
    return warehouse
