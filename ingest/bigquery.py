"""`BigQueryRawWriter`: ingest into a BigQuery dataset (default `raw`) instead of a DuckDB file.

    from google.cloud import bigquery
    from ingest.bigquery import BigQueryRawWriter
    from ingest.loader import ingest_landing

    ingest_landing("gs://bucket/landing", BigQueryRawWriter(bigquery.Client(project=p), p), as_of=day)

The run reads, validates and types its records exactly as on DuckDB, in an in-memory DuckDB (the working
tables of ingest/batch.py); only where the result goes differs. A batch's typed rows, quarantine records and
log rows are written by DuckDB as newline-delimited JSON files, each loaded by a BigQuery load job into a
staging table of the dataset (`_ingest_staging_<table>_<run>`, expiring after a day should a crash leave it),
and then moved by ONE multi-statement transaction: the raw rows, the quarantine rows, the log rows, committed
together. A crash before the move leaves only staging tables; a failure inside it rolls the whole move back;
either way the next run finds no log row for those deliveries and loads them whole. The move inserts only
deliveries the ingest log does not hold yet, so running it twice (a retried job) adds nothing.

The tables have the columns of the DuckDB raw schema, in BigQuery's types (`BIGQUERY_TYPES`); the ingest
log's NOT NULL columns are REQUIRED. google-cloud-bigquery is an optional extra (`riskmart[bigquery]`): it
is imported when a writer is used, and the caller builds the client (credentials, endpoint, location).
"""

# SQL here interpolates only our own identifiers (project, dataset and table names, working tables) and
# paths of our own temporary folder; values are query parameters.
# ruff: noqa: S608

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from contract import INGEST_LOG_TABLE, QUARANTINE_TABLE, RAW_SCHEMA
from ingest.batch import PhaseClock
from ingest.validation import quote_ident
from ingest.writer import configure_work_connection, raw_tables

# DuckDB's type of a raw column -> BigQuery's (the raw tables hold no other types)
BIGQUERY_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "DOUBLE": "FLOAT64",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "BOOLEAN": "BOOL",
    "JSON": "JSON",
}
STAGING_PREFIX = "_ingest_staging_"
STAGING_EXPIRY = timedelta(days=1)
OUT_PREFIX = "_ingest_out_"
# which column of each table names its delivery (the move skips deliveries already logged)
DELIVERY_COLUMN = {QUARANTINE_TABLE: "_file_id", INGEST_LOG_TABLE: "file_id"}


def _bigquery() -> Any:
    try:
        from google.cloud import bigquery
    except ImportError as exc:  # pragma: no cover - the extra is installed in the suite
        raise ImportError(
            "ingesting into BigQuery needs google-cloud-bigquery: pip install 'riskmart[bigquery]'"
        ) from exc
    return bigquery


def bigquery_schema(columns: dict[str, str]) -> list:
    """BigQuery schema fields of a raw table's columns (DuckDB types, constraints included)."""
    bigquery = _bigquery()
    return [
        bigquery.SchemaField(
            name,
            BIGQUERY_TYPES[type_.split()[0]],
            mode="REQUIRED" if ("NOT NULL" in type_ or "PRIMARY KEY" in type_) else "NULLABLE",
        )
        for name, type_ in columns.items()
    ]


class BigQueryRawWriter:
    """The raw dataset of a BigQuery project (module docstring). `client` is a google.cloud.bigquery.Client
    the caller built; `project` the project of the dataset; `location` the dataset's, when it is created."""

    def __init__(
        self, client: Any, project: str, dataset: str = RAW_SCHEMA, *, location: str | None = None
    ) -> None:
        self.client = client
        self.project = project
        self.dataset = dataset
        self.location = location
        self._work: Path | None = None

    def __repr__(self) -> str:
        return f"BigQueryRawWriter(project={self.project!r}, dataset={self.dataset!r})"

    def table_id(self, table: str) -> str:
        return f"{self.project}.{self.dataset}.{table}"

    def _sql_table(self, table: str) -> str:
        return f"`{self.table_id(table)}`"

    def _query(self, sql: str, params: dict[str, str] | None = None) -> list[tuple]:
        bigquery = _bigquery()
        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter(k, "STRING", v) for k, v in (params or {}).items()
            ]
        )
        return [tuple(row.values()) for row in self.client.query(sql, job_config=config).result()]

    # ---- the run ------------------------------------------------------------------------------------------

    @contextmanager
    def open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB for the run's working tables, and a temporary folder for the files loaded."""
        with tempfile.TemporaryDirectory(prefix="riskmart-ingest-") as work:
            self._work = Path(work)
            con = duckdb.connect(config={"temp_directory": str(self._work / "duckdb.tmp")})
            try:
                configure_work_connection(con)
                yield con
            finally:
                con.close()
                self._work = None

    def ensure_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        bigquery = _bigquery()
        dataset = bigquery.Dataset(f"{self.project}.{self.dataset}")
        if self.location:
            dataset.location = self.location
        self.client.create_dataset(dataset, exists_ok=True)
        for table, columns in raw_tables().items():
            self.client.create_table(
                bigquery.Table(self.table_id(table), schema=bigquery_schema(columns)), exists_ok=True
            )

    def delivery_history(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, bool]]:
        return self._query(
            f"""
            SELECT file, content_hash,
                content_hash = LAST_VALUE(content_hash) OVER (
                    PARTITION BY file ORDER BY finished_at, file_id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                ) AS is_latest
            FROM {self._sql_table(INGEST_LOG_TABLE)}
            """
        )

    def replay_candidates(
        self, con: duckdb.DuckDBPyConnection, table: str, rule: str
    ) -> set[tuple[str, str]]:
        """ingest.writer.REPLAY_CANDIDATES_SQL in BigQuery's SQL."""
        rows = self._query(
            f"""
            WITH newest AS (
                SELECT file, file_id, content_hash, finished_at
                FROM {self._sql_table(INGEST_LOG_TABLE)}
                WHERE table_name = @table AND status IN ('loaded', 'loaded_with_rejects')
                QUALIFY ROW_NUMBER() OVER (PARTITION BY file ORDER BY finished_at DESC, file_id DESC) = 1
            ),
            unknown_client_rows AS (
                SELECT newest.file, newest.content_hash, newest.finished_at,
                    JSON_VALUE(rejected.record, '$.client_id') AS client_id
                FROM newest
                JOIN {self._sql_table(QUARANTINE_TABLE)} AS rejected ON rejected._file_id = newest.file_id
                WHERE ARRAY_LENGTH(JSON_QUERY_ARRAY(rejected.rules_broken)) = 1
                    AND JSON_VALUE(rejected.rules_broken, '$[0]') = @rule
            ),
            first_loaded AS (
                SELECT client_id, MIN(_loaded_at) AS first_loaded_at
                FROM {self._sql_table("clients")}
                WHERE client_id IN (SELECT client_id FROM unknown_client_rows)
                GROUP BY client_id
            )
            SELECT DISTINCT rows_.file, rows_.content_hash
            FROM unknown_client_rows AS rows_
            JOIN first_loaded USING (client_id)
            WHERE first_loaded.first_loaded_at > rows_.finished_at
            """,
            {"table": table, "rule": rule},
        )
        return set(rows)

    def create_known_clients(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        ids = [row[0] for row in self._query(f"SELECT DISTINCT client_id FROM {self._sql_table('clients')}")]
        frame = pd.DataFrame({"client_id": pd.Series(ids, dtype="object")})
        con.register("_ingest_known_clients_frame", frame)
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS "
                "SELECT CAST(client_id AS VARCHAR) AS client_id FROM _ingest_known_clients_frame"
            )
        finally:
            con.unregister("_ingest_known_clients_frame")

    @contextmanager
    def batch(
        self, con: duckdb.DuckDBPyConnection, tables: list[str], clock: PhaseClock
    ) -> Iterator[dict[str, str]]:
        """The batch's rows go into working tables shaped like the raw tables; when the block ends they are
        staged with load jobs and moved by one transaction (module docstring). Should the block raise,
        nothing was sent."""
        columns = raw_tables()
        out = {table: f"{OUT_PREFIX}{table}" for table in tables}
        for table, name in out.items():
            body = ", ".join(f"{quote_ident(c)} {t.split()[0]}" for c, t in columns[table].items())
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({body})")
        yield out
        with clock("commit"):
            self._stage_and_move(con, out)

    def _stage_and_move(self, con: duckdb.DuckDBPyConnection, out: dict[str, str]) -> None:
        bigquery = _bigquery()
        columns = raw_tables()
        run = uuid.uuid4().hex[:16]
        staged: dict[str, str] = {}
        try:
            for table, name in out.items():
                if not con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]:
                    continue
                path = self._work / f"{table}.ndjson"
                con.execute(f"COPY {name} TO '{path.as_posix()}' (FORMAT JSON)")
                staging = f"{STAGING_PREFIX}{table}_{run}"
                schema = bigquery_schema(columns[table])
                created = bigquery.Table(self.table_id(staging), schema=schema)
                created.expires = datetime.now(UTC) + STAGING_EXPIRY
                self.client.create_table(created)
                staged[table] = staging
                config = bigquery.LoadJobConfig(
                    source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
                    schema=schema,
                    write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
                )
                with path.open("rb") as handle:
                    self.client.load_table_from_file(
                        handle, self.table_id(staging), job_config=config
                    ).result()
                path.unlink()
            if staged:
                self.client.query(self.move_script(staged)).result()
        finally:
            for staging in staged.values():
                self.client.delete_table(self.table_id(staging), not_found_ok=True)

    def move_script(self, staged: dict[str, str]) -> str:
        """The one transaction moving a batch's staged rows (table -> staging table) into the dataset."""
        return "\n".join(["BEGIN TRANSACTION;", *self.move_statements(staged), "COMMIT TRANSACTION;"])

    def move_statements(self, staged: dict[str, str]) -> list[str]:
        """One INSERT per staged table, the ingest log's last; each inserts only deliveries not logged yet."""
        columns = raw_tables()
        logged = f"(SELECT file_id FROM {self._sql_table(INGEST_LOG_TABLE)})"
        order = sorted(staged, key=lambda t: t == INGEST_LOG_TABLE)
        statements = []
        for table in order:
            names = ", ".join(f"`{c}`" for c in columns[table])
            key = DELIVERY_COLUMN.get(table, "_file_id")
            statements.append(
                f"INSERT INTO {self._sql_table(table)} ({names}) SELECT {names} "
                f"FROM {self._sql_table(staged[table])} WHERE `{key}` NOT IN {logged};"
            )
        return statements

    def read_ingest_log(self) -> list[tuple[list[str], list[tuple]]]:
        from google.api_core.exceptions import NotFound

        try:
            table = self.client.get_table(self.table_id(INGEST_LOG_TABLE))
        except NotFound:
            return [], []
        names = [field.name for field in table.schema]
        rows = self._query(
            f"SELECT {', '.join(f'`{n}`' for n in names)} FROM {self._sql_table(INGEST_LOG_TABLE)} "
            "ORDER BY finished_at, file, file_id"
        )
        return names, [tuple(_naive_utc(v) for v in row) for row in rows]


def _naive_utc(value: object) -> object:
    """BigQuery's TIMESTAMPs come back aware; DuckDB's (and the log's) are naive UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
