"""`riskmart ingest`: validate the landing files not loaded yet and load them into the raw schema.

What happens to each delivery (a file's path and content; see ingest/discovery.py):

* the content its path last delivered (loaded or rejected): skipped, so a re-run loads nothing twice;
  a path put back to an older content (A, B, then A again) is delivered again and loads again;
* exported after `as_of` (bureau reports: `fecha_consulta` after `as_of`): left for a later run;
* a name, folder or header that does not follow the contract, a file that is not UTF-8 CSV (or not one
  JSON object with a `fecha_consulta`): rejected whole, logged with one clear message, nothing loaded;
* otherwise every record is read as text, validated (ingest/validation.py, Great Expectations) and
  either loaded, typed, into `raw.<table>` with lineage columns, or kept verbatim in `raw.quarantine`
  with the rules it broke. Records the CSV parser cannot split into the header's columns (too many or
  too few fields, bad quoting, invalid UTF-8) are quarantined too, as their raw line, with a `csv:` rule.

The raw insert, the quarantine insert and the log rows of a batch of deliveries are one DuckDB
transaction, so a crash at any point leaves each delivery either fully loaded and logged or absent,
and the next run loads exactly what is missing.

The client-exists rule: a payment, order, utilization month or payment plan is rejected
(`client_id:client_exists`) when its client_id appears in no clients row loaded so far, by an earlier
run or by this one (clients files load before the other tables in every run). When a later run loads the
client, the file whose rows were quarantined for that reason alone is replayed: loaded again, whole, as a
new delivery of the same path (the file must still be in the landing folder with the same content), so
those rows now load and the newest delivery of the path holds them. The quarantine keeps the old rows, as
it keeps every rejected row.

Line numbers are physical lines of the file (the header is line 1), also when blank lines or quoted
line breaks make records and lines differ; a JSON report is line 1.
"""

# SQL here interpolates only our own identifiers (contract names, working tables); values are parameters.
# ruff: noqa: S608

from __future__ import annotations

import csv
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from contract import (
    CSV_TABLES,
    DATE,
    HCPN_TABLE,
    INGEST_LOG_TABLE,
    LINEAGE_COLUMNS,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    TableSpec,
)
from ingest.discovery import Delivery, discover
from ingest.validation import (
    CLIENT_EXISTS_RULE,
    EXPORT_DATE_COLUMN,
    FILE_COLUMN,
    HCPN_SPEC,
    TYPE_PATTERNS,
    GroupFrame,
    Validator,
    import_great_expectations,
    key_groups,
    load_sql,
    quote_ident,
    unique_rule,
)

# The catalog every layer attaches the warehouse file under (dbt's profile, ml.warehouse): opened directly,
# a file named like a schema (raw.duckdb) makes `raw.x` ambiguous. ingest imports nothing but the contract
# (docs/architecture.md), hence this copy of ml.warehouse.connect_warehouse; a test keeps the two equal.
WAREHOUSE_CATALOG = "riskmart"


def connect_warehouse(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The warehouse file attached as the catalog `riskmart` and in use."""
    con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        con.execute(f"attach ? as {WAREHOUSE_CATALOG}{' (read_only)' if read_only else ''}", [str(path)])
        con.execute(f"use {WAREHOUSE_CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


# Deliveries of one table are read, validated and committed together up to about this much CSV.
BATCH_BYTES = 384 * 1024 * 1024
BATCH_BUREAU_FILES = 50_000
MAX_HEADER_BYTES = 1 << 20
HEADER_CHUNK_BYTES = 1 << 13
# The contract: a bureau report without defaults_bureau reports none.
LOAD_DEFAULTS = {(HCPN_TABLE, "defaults_bureau"): "0"}
LOADED, LOADED_WITH_REJECTS, REJECTED = "loaded", "loaded_with_rejects", "rejected"

# Working tables of one batch (temporary: they vanish with the connection, a crash leaves nothing).
KNOWN_CLIENTS = "_ingest_known_clients"
BATCH, FILES, BAD, BAD_ROWS, REJECTS, REJECT_SCANS, LINE_FIX = (
    "_ingest_batch",
    "_ingest_files",
    "_ingest_bad",
    "_ingest_bad_rows",
    "_ingest_rejects",
    "_ingest_reject_scans",
    "_ingest_line_fix",
)

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


@dataclass
class IngestResult:
    """What one `ingest_landing` call did."""

    files: list[dict]  # one per delivery processed in this run (see `_log_entry`)
    skipped: int = 0  # deliveries already in the ingest log
    not_yet_due: int = 0  # deliveries exported after `as_of`, left for a later run
    changed_during_load: list[str] = field(default_factory=list)  # rewritten while read; next run loads them
    replayed: list[str] = field(default_factory=list)  # loaded again: quarantined rows' clients now exist
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (for benchmarks)


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


def read_ingest_log(warehouse: Path) -> list[dict]:
    """The whole raw.ingest_log, oldest first, as JSON-ready dicts (`table` is the raw table)."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return []
    with connect_warehouse(warehouse, read_only=True) as con:
        present = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [RAW_SCHEMA, INGEST_LOG_TABLE],
        ).fetchone()[0]
        if not present:
            return []
        cursor = con.execute(
            f"SELECT * FROM {RAW_SCHEMA}.{INGEST_LOG_TABLE} ORDER BY finished_at, file, file_id"
        )
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    out = []
    for row in rows:
        entry = dict(zip(names, row, strict=True))
        entry["table"] = entry.pop("table_name")
        for key in ("export_date", "started_at", "finished_at"):
            if entry[key] is not None:
                entry[key] = entry[key].isoformat()
        out.append(entry)
    return out


def ingest_landing(
    landing: Path, warehouse: Path, as_of: date | None = None, *, batch_bytes: int = BATCH_BYTES
) -> IngestResult:
    """Load every delivery in `landing` not loaded yet (exported on or before `as_of`) into `warehouse`."""
    started = time.perf_counter()
    landing, warehouse = Path(landing), Path(warehouse)
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    # importing Great Expectations takes seconds of Python; hashing the files runs meanwhile
    importer = threading.Thread(target=import_great_expectations, daemon=True)
    importer.start()
    deliveries = discover(landing)
    importer.join()
    result = IngestResult(files=[], timings={"discover_and_import": time.perf_counter() - started})
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with connect_warehouse(warehouse) as con:
        # only reading a batch needs the read order (line numbers); elsewhere order is free to change
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        ensure_tables(con)
        latest, earlier = _delivery_history(con)
        pending = _not_delivered_yet(deliveries, latest, earlier)
        result.skipped = len(deliveries) - len(pending)
        due = [
            d
            for d in pending
            if d.problem or as_of is None or d.export_date is None or d.export_date <= as_of
        ]
        result.not_yet_due = len(pending) - len(due)
        run = _Run(con, result)
        run.reject_whole([(d, d.problem) for d in due if d.problem])
        for spec in CSV_TABLES:
            todo = [d for d in due if not d.problem and d.table == spec.name]
            if spec.client_must_exist:
                # after this run's clients files: the clients they bring count for the replay too
                replays = _replays_for_known_clients(con, spec.name, deliveries, todo, earlier)
                result.replayed += [d.relpath for d in replays]
                todo += replays
            for batch in _batches(todo, batch_bytes):
                run.load_csv_batch(spec, batch)
        run.load_bureau([d for d in due if not d.problem and d.is_bureau], as_of)
    result.seconds = time.perf_counter() - started
    return result


def _delivery_history(con: duckdb.DuckDBPyConnection) -> tuple[set[tuple[str, str]], Counter]:
    """From the ingest log: the (path, content hash) each path last delivered, and how many deliveries each
    (path, content hash) has had."""
    rows = con.execute(
        f"""
        SELECT file, content_hash,
            content_hash = last_value(content_hash) OVER (
                PARTITION BY file ORDER BY finished_at, file_id
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) AS is_latest
        FROM {RAW_SCHEMA}.{INGEST_LOG_TABLE}
        """
    ).fetchall()
    latest = {(file, content) for file, content, is_latest in rows if is_latest}
    return latest, Counter((file, content) for file, content, _ in rows)


def _not_delivered_yet(
    deliveries: list[Delivery], latest: set[tuple[str, str]], earlier: Counter
) -> list[Delivery]:
    """The deliveries whose content is not what their path last delivered (`latest`), each numbered by how
    often the path delivered that same content before (`earlier`: 0 for new content; 1 for A, B, then A)."""
    return [
        replace(d, redelivery=earlier[(d.relpath, d.content_hash)])
        for d in deliveries
        if (d.relpath, d.content_hash) not in latest
    ]


def _replays_for_known_clients(
    con: duckdb.DuckDBPyConnection,
    table: str,
    deliveries: list[Delivery],
    todo: list[Delivery],
    earlier: Counter,
) -> list[Delivery]:
    """The files of `table` to load again: the newest delivery of their path quarantined rows for an
    unknown client alone, and that client's first snapshot was loaded after that delivery (so a replay
    happens once per late client, never in a loop). Only a file still on disk with the content of that
    delivery can be replayed; it becomes the next re-delivery of that content (a new file_id, numbered by
    `earlier`, the deliveries of each (path, content hash) so far)."""
    rows = con.execute(
        f"""
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
        """,
        {"table": table, "rule": CLIENT_EXISTS_RULE},
    ).fetchall()
    replayable = set(rows)
    loading = {d.relpath for d in todo}
    return [
        replace(d, redelivery=earlier[(d.relpath, d.content_hash)])
        for d in deliveries
        if (d.relpath, d.content_hash) in replayable and d.relpath not in loading and not d.problem
    ]


def _batches(deliveries: list[Delivery], batch_bytes: int) -> list[list[Delivery]]:
    batches: list[list[Delivery]] = []
    size = 0
    for d in deliveries:
        if not batches or size + d.size > batch_bytes:
            batches.append([])
            size = 0
        batches[-1].append(d)
        size += d.size
    return batches


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def read_header(path: Path) -> tuple[list[str] | None, str | None]:
    """The header row of a CSV file as written, or the reason it is not a readable UTF-8 CSV."""
    head = b""
    with path.open("rb") as handle:
        # the header is short: read a little at a time until the first line break
        while len(head) < MAX_HEADER_BYTES and (chunk := handle.read(HEADER_CHUNK_BYTES)):
            head += chunk
            if b"\n" in chunk:
                break
    if not head.strip():
        return None, "empty file: no header row"
    if b"\x00" in head:
        return None, "not a UTF-8 CSV text file (it contains NUL bytes: binary, or UTF-16)"
    end = head.find(b"\n")
    if end < 0 and len(head) == MAX_HEADER_BYTES:
        return None, f"not a CSV file: no line break in the first {MAX_HEADER_BYTES} bytes"
    first = head if end < 0 else head[:end]
    try:
        text = first.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        return (
            None,
            f"not a UTF-8 CSV file: the header row is not valid UTF-8 ({exc.reason} at byte {exc.start})",
        )
    return next(csv.reader([text])), None


def match_header(spec: TableSpec, header: list[str]) -> tuple[list[str] | None, str | None]:
    """Batch-table column of each header field (contract name or `_extra_<i>`), or why the header fails."""
    normalized = [h.strip().lower() for h in header]
    known = set(spec.column_names)
    shown = ", ".join(header) if len(", ".join(header)) <= 300 else ", ".join(header)[:300] + "..."
    duplicated = sorted({n for n, count in Counter(normalized).items() if count > 1 and n in known})
    if duplicated:
        return None, f"duplicate column(s) {', '.join(duplicated)} in the header; header was: {shown}"
    missing = [c.name for c in spec.columns if c.required and c.name not in normalized]
    if missing:
        return None, f"missing required column(s) {', '.join(missing)}; header was: {shown}"
    return [n if n in known else f"_extra_{i}" for i, n in enumerate(normalized)], None


@dataclass
class _File:
    """A delivery being loaded in the current batch."""

    number: int
    delivery: Delivery
    export_date: date
    header: list[str]  # as written in the file (bureau: the JSON keys)
    names: list[str]  # batch-table column of each header field
    record: dict | None = None  # bureau: the JSON object as parsed
    rows: int = 0  # records read into the batch table
    start_row: int = 0  # batch-table rowid of its first record
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, rule, raw line)


class _Run:
    """State of one ingest run on one open warehouse connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, result: IngestResult) -> None:
        self.con = con
        self.result = result
        self._validator: Validator | None = None
        self._clients_ready = False

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            timings = self.result.timings
            timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - started

    @property
    def validator(self) -> Validator:
        if self._validator is None:
            with self.timed("great_expectations_setup"):
                self._validator = Validator()
        return self._validator

    def known_clients(self) -> str:
        """A working table of every client id loaded so far (clients load first in every run)."""
        if not self._clients_ready:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {KNOWN_CLIENTS} AS SELECT DISTINCT client_id FROM {RAW_SCHEMA}.clients"
            )
            self._clients_ready = True
        return KNOWN_CLIENTS

    # ---- files rejected whole -------------------------------------------------------------------------

    def reject_whole(self, rejected: list[tuple[Delivery, str]]) -> None:
        if not rejected:
            return
        now = _now()
        entries = [_log_entry(d, REJECTED, 0, 0, message, now, now, None) for d, message in rejected]
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._insert_log(entries)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.result.files.extend(_public(e) for e in entries)

    # ---- CSV ------------------------------------------------------------------------------------------

    def load_csv_batch(self, spec: TableSpec, deliveries: list[Delivery]) -> None:
        started = _now()
        rejected: list[tuple[Delivery, str]] = []
        readable: list[tuple[Delivery, list[str], list[str]]] = []
        for d in deliveries:
            try:
                header, problem = read_header(d.path)
            except OSError:
                self.result.changed_during_load.append(d.relpath)  # gone since discovery
                continue
            names = None
            if header is not None:
                names, problem = match_header(spec, header)
            if problem:
                rejected.append((d, problem))
            else:
                readable.append((d, header, names))
        with self.timed("read"):
            files = self._read_csv_files(spec, readable, rejected)
        self._validate_and_commit(spec, files, rejected, started)

    def _create_batch_table(self, spec: TableSpec, extras: int) -> list[str]:
        columns = [*spec.column_names, *(f"_extra_{i}" for i in range(extras))]
        body = ", ".join(f"{quote_ident(c)} VARCHAR" for c in columns)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {BATCH} ({FILE_COLUMN} BIGINT, {EXPORT_DATE_COLUMN} DATE, {body})"
        )
        return columns

    def _read_csv_files(
        self, spec: TableSpec, readable: list[tuple[Delivery, list[str], list[str]]], rejected: list
    ) -> list[_File]:
        extras = max(
            (int(n[7:]) + 1 for _, _, names in readable for n in names if n.startswith("_extra_")), default=0
        )
        columns = self._create_batch_table(spec, extras)
        groups: dict[tuple[str, ...], list[tuple[Delivery, list[str], list[str]]]] = {}
        for item in readable:
            groups.setdefault(tuple(item[2]), []).append(item)
        files: list[_File] = []
        for names, members in groups.items():
            group_files = [
                _File(
                    number=len(files) + i,
                    delivery=d,
                    export_date=d.export_date,
                    header=header,
                    names=list(names),
                )
                for i, (d, header, _) in enumerate(members)
            ]
            try:
                self._read_csv_group(columns, group_files)
            except duckdb.Error:
                # one unreadable file spoils a multi-file read: read them one by one to find it
                for single in group_files:
                    single.number = len(files)
                    try:
                        self._read_csv_group(columns, [single])
                    except duckdb.Error as exc:
                        first_line = str(exc).strip().splitlines()[0][:300]
                        rejected.append((single.delivery, f"could not be read as CSV: {first_line}"))
                        continue
                    files.append(single)
                continue
            files.extend(group_files)
        self._count_rows(files)
        return files

    def _read_csv_group(self, columns: list[str], group: list[_File]) -> None:
        names = group[0].names
        select = ", ".join(quote_ident(c) if c in names else f"NULL AS {quote_ident(c)}" for c in columns)
        paths = [str(f.delivery.path) for f in group]
        self.con.execute(f"DROP TABLE IF EXISTS {REJECTS}")
        self.con.execute(f"DROP TABLE IF EXISTS {REJECT_SCANS}")
        with self.ordered():
            self._insert_csv_rows(select, group, paths, names)
        by_path = {p: f for p, f in zip(paths, group, strict=True)}
        errors = self.con.execute(
            f"""
            SELECT s.file_path, e.line, string_agg(DISTINCT lower(replace(e.error_type, ' ', '_')), ','),
                   any_value(e.csv_line)
            FROM {REJECTS} e JOIN {REJECT_SCANS} s USING (scan_id, file_id)
            GROUP BY ALL ORDER BY 1, 2
            """
        ).fetchall()
        for path, line, error_types, raw_line in errors:
            by_path[path].malformed.append((int(line), error_types, raw_line))

    def _insert_csv_rows(self, select: str, group: list[_File], paths: list[str], names: list[str]) -> None:
        self.con.execute(
            f"""
            INSERT INTO {BATCH}
            SELECT file_index::BIGINT + $base, $dates[file_index::BIGINT + 1], {select}
            FROM read_csv(
                $paths, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
                escape = '"', encoding = 'utf-8', store_rejects = true,
                rejects_table = '{REJECTS}', rejects_scan = '{REJECT_SCANS}'
            )
            """,
            {
                "base": group[0].number,
                "dates": [f.export_date for f in group],
                "paths": paths,
                "columns": {n: "VARCHAR" for n in names},
            },
        )

    @contextmanager
    def ordered(self) -> Iterator[None]:
        """Keep read order while inserting into the batch table: line numbers are derived from it."""
        self.con.execute("SET preserve_insertion_order = true")
        try:
            yield
        finally:
            self.con.execute("SET preserve_insertion_order = false")

    def _count_rows(self, files: list[_File]) -> None:
        counts = self.con.execute(
            f"SELECT {FILE_COLUMN}, count(*), min(rowid) FROM {BATCH} GROUP BY 1"
        ).fetchall()
        by_number = {f.number: f for f in files}
        for number, rows, start in counts:
            by_number[number].rows, by_number[number].start_row = rows, start

    # ---- bureau JSON ----------------------------------------------------------------------------------

    def load_bureau(self, deliveries: list[Delivery], as_of: date | None) -> None:
        for offset in range(0, len(deliveries), BATCH_BUREAU_FILES):
            started = _now()
            rejected: list[tuple[Delivery, str]] = []
            files: list[_File] = []
            for d in deliveries[offset : offset + BATCH_BUREAU_FILES]:
                try:
                    record, report_date, problem = parse_bureau(d.path)
                except OSError:
                    self.result.changed_during_load.append(d.relpath)  # gone since discovery
                    continue
                if problem:
                    rejected.append((d, problem))
                elif as_of is not None and report_date > as_of:
                    self.result.not_yet_due += 1
                else:
                    header = list(record)
                    files.append(_File(len(files), d, report_date, header, header, record=record, rows=1))
            self._bureau_batch_table(files)
            self._validate_and_commit(HCPN_SPEC, files, rejected, started)

    def _bureau_batch_table(self, files: list[_File]) -> None:
        columns = self._create_batch_table(HCPN_SPEC, 0)
        frame = pd.DataFrame(
            {
                FILE_COLUMN: np.arange(len(files), dtype=np.int64),
                EXPORT_DATE_COLUMN: pd.Series([f.export_date for f in files], dtype="object"),
                **{c: pd.Series([_bureau_text(f, c) for f in files], dtype="object") for c in columns},
            }
        )
        self.con.register("_ingest_bureau_frame", frame)
        try:
            with self.ordered():
                self.con.execute(
                    f"INSERT INTO {BATCH} SELECT {FILE_COLUMN}, CAST({EXPORT_DATE_COLUMN} AS DATE), "
                    + ", ".join(f"CAST({quote_ident(c)} AS VARCHAR)" for c in columns)
                    + " FROM _ingest_bureau_frame ORDER BY 1"
                )
        finally:
            self.con.unregister("_ingest_bureau_frame")
        for f in files:
            f.start_row = f.number + 1  # a JSON report is line 1 (line = rowid - start_row + 2)

    # ---- validation and the commit --------------------------------------------------------------------

    def _validate_and_commit(
        self, spec: TableSpec, files: list[_File], rejected: list[tuple[Delivery, str]], started: datetime
    ) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {BAD} (row BIGINT, rule VARCHAR)")
        if any(f.rows for f in files):
            with self.timed("validate"):
                self._validate(spec)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {BAD_ROWS} AS "
            f"SELECT row, list(DISTINCT rule ORDER BY rule) AS rules FROM {BAD} GROUP BY row"
        )
        # a file rewritten while we read it is not this delivery any more: the next run loads it whole
        changed = {
            f.delivery.file_id: f.delivery.relpath for f in files if not f.delivery.unchanged_on_disk()
        }
        changed |= {d.file_id: d.relpath for d, _ in rejected if not d.unchanged_on_disk()}
        self.result.changed_during_load.extend(sorted(changed.values()))
        files = [f for f in files if f.delivery.file_id not in changed]
        rejected = [(d, m) for d, m in rejected if d.file_id not in changed]
        if not files and not rejected:
            return

        self._register_files(files)
        with self.timed("quarantine"):
            quarantine, rejected_per_file, rule_counts = self._quarantine_rows(spec, files)
        loaded_at = _now()
        entries = []
        for f in files:
            read = f.rows + len(f.malformed)
            bad = rejected_per_file.get(f.number, 0) + len(f.malformed)
            status = LOADED_WITH_REJECTS if bad else LOADED
            message = _reject_summary(rule_counts.get(f.number, Counter())) if bad else ""
            entries.append(
                _log_entry(f.delivery, status, read, read - bad, message, started, loaded_at, f.export_date)
            )
        entries += [_log_entry(d, REJECTED, 0, 0, m, started, loaded_at, None) for d, m in rejected]
        self.con.execute("BEGIN TRANSACTION")
        try:
            if files:
                with self.timed("insert"):
                    self._insert_raw(spec, loaded_at)
            with self.timed("quarantine"):
                self._insert_csv_quarantine(spec, files, loaded_at)
            if len(quarantine):
                quarantine["loaded_at"] = loaded_at
                self.con.register("_ingest_quarantine_frame", quarantine)
                self.con.execute(
                    f"INSERT INTO {RAW_SCHEMA}.{QUARANTINE_TABLE} "
                    "SELECT _file_id, source_file, table_name, line_number, record::JSON, rules_broken::JSON, "
                    "export_date::DATE, loaded_at::TIMESTAMP FROM _ingest_quarantine_frame"
                )
                self.con.unregister("_ingest_quarantine_frame")
            self._insert_log(entries)
            with self.timed("commit"):
                self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.result.files.extend(_public(e) for e in entries)

    def _validate(self, spec: TableSpec) -> None:
        known = self.known_clients() if spec.client_must_exist else None
        groups = key_groups(spec, known)
        frames: list[GroupFrame] = []
        keys: dict[int, np.ndarray] = {}
        for index, group in enumerate(groups):
            key_select = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in group.key_sql.items())
            frame_select = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in group.frame_sql.items())
            table = f"_ingest_keys_{index}"
            with self.timed("validate_keys"):
                self.con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    f"SELECT row_number() OVER () AS __key, k.*, {frame_select} "
                    f"FROM (SELECT DISTINCT {key_select} FROM {BATCH}) AS k"
                )
                frame = self.con.execute(
                    f"SELECT __key, {', '.join(quote_ident(n) for n in group.frame_sql)} FROM {table}"
                ).df()
            keys[index] = frame.pop("__key").to_numpy()
            frames.append(GroupFrame(group=group, index=index, frame=frame))
        with self.timed("great_expectations"):
            failures = self.validator.validate_groups(frames)
        for index, group in enumerate(groups):
            table = f"_ingest_keys_{index}"
            if failures[index]:
                # every failing key of the group with its rules, joined back to the rows holding it
                failing = pd.DataFrame(
                    {
                        "__key": np.concatenate([keys[index][at] for at in failures[index].values()]),
                        "rule": np.repeat(
                            list(failures[index]), [len(at) for at in failures[index].values()]
                        ),
                    }
                )
                match = " AND ".join(
                    f"({sql}) IS NOT DISTINCT FROM k.{quote_ident(name)}"
                    for name, sql in group.key_sql.items()
                )
                key_columns = ", ".join(f"k.{quote_ident(name)}" for name in group.key_sql)
                self.con.register("_ingest_failing", failing)
                self.con.execute(
                    f"INSERT INTO {BAD} SELECT b.rowid, k.rule FROM {BATCH} AS b "
                    f"JOIN (SELECT {key_columns}, f.rule FROM {table} AS k JOIN _ingest_failing AS f USING (__key)) "
                    f"AS k ON {match}"
                )
                self.con.unregister("_ingest_failing")
            self.con.execute(f"DROP TABLE {table}")
        for column in spec.unique_within_file:
            with self.timed("validate_unique"):
                self._validate_unique(column)

    def _validate_unique(self, column: str) -> None:
        col = quote_ident(column)
        # one integer per row: the file number in the high 32 bits, a dense code of the id in the low ones
        rows = self.con.execute(
            f"""
            WITH codes AS (
                SELECT {col}, row_number() OVER () AS code
                FROM (SELECT DISTINCT {col} FROM {BATCH} WHERE {col} IS NOT NULL)
            )
            SELECT b.rowid AS row, b.{FILE_COLUMN} * 4294967296 + codes.code AS file_and_id
            FROM {BATCH} AS b LEFT JOIN codes USING ({col})
            """
        ).df()
        rule = unique_rule(column)
        positions = self.validator.duplicated_positions(rows["file_and_id"], rule)
        if len(positions):
            failing = pd.DataFrame({"row": rows["row"].to_numpy()[positions], "rule": rule})
            self.con.register("_ingest_failing", failing)
            self.con.execute(f"INSERT INTO {BAD} SELECT row, rule FROM _ingest_failing")
            self.con.unregister("_ingest_failing")

    def _register_files(self, files: list[_File]) -> None:
        frame = pd.DataFrame(
            {
                "file": pd.Series([f.number for f in files], dtype="int64"),
                "file_id": pd.Series([f.delivery.file_id for f in files], dtype="object"),
                "source_file": pd.Series([f.delivery.relpath for f in files], dtype="object"),
                "export_date": pd.Series([f.export_date for f in files], dtype="object"),
                "start_row": pd.Series([f.start_row for f in files], dtype="int64"),
            }
        )
        self.con.register("_ingest_files_frame", frame)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {FILES} AS SELECT file, file_id, source_file, "
            "CAST(export_date AS DATE) AS export_date, start_row FROM _ingest_files_frame"
        )
        self.con.unregister("_ingest_files_frame")
        fixes = [
            (f.number, ordinal, line) for f in files for ordinal, line in enumerate(_line_numbers(f) or ())
        ]
        frame = pd.DataFrame(fixes, columns=["file", "ordinal", "line"], dtype="int64")
        self.con.register("_ingest_fix_frame", frame)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {LINE_FIX} AS SELECT * FROM _ingest_fix_frame")
        self.con.unregister("_ingest_fix_frame")

    def _line_sql(self, alias: str = "b") -> tuple[str, str]:
        """(join clause, line-number expression) for batch rows aliased `alias`."""
        join = (
            f"JOIN {FILES} AS fl ON fl.file = {alias}.{FILE_COLUMN} "
            f"LEFT JOIN {LINE_FIX} AS fix ON fix.file = {alias}.{FILE_COLUMN} "
            f"AND fix.ordinal = {alias}.rowid - fl.start_row"
        )
        return join, f"COALESCE(fix.line, {alias}.rowid - fl.start_row + 2)"

    def _quarantine_rows(self, spec: TableSpec, files: list[_File]) -> tuple[pd.DataFrame, Counter, dict]:
        """Quarantine records built in Python (bureau reports, malformed CSV lines), rejected rows per
        file, and rule counts per file. Rejected CSV records are written by `_insert_csv_quarantine`."""
        per_file: Counter = Counter()
        rule_counts: dict[int, Counter] = {}
        counts = self.con.execute(
            f"SELECT b.{FILE_COLUMN}, rule, count(*) FROM {BAD_ROWS} AS r JOIN {BATCH} AS b ON r.row = b.rowid, "
            "unnest(r.rules) AS u(rule) GROUP BY ALL"
        ).fetchall()
        for number, rule, count in counts:
            rule_counts.setdefault(number, Counter())[rule] = count
        for number, count in self.con.execute(
            f"SELECT b.{FILE_COLUMN}, count(*) FROM {BAD_ROWS} AS r JOIN {BATCH} AS b ON r.row = b.rowid GROUP BY 1"
        ).fetchall():
            per_file[number] = count
        records: list[dict[str, Any]] = []
        bureau = [f for f in files if f.record is not None and per_file.get(f.number)]
        if bureau:
            rules_of = dict(
                self.con.execute(
                    f"SELECT b.{FILE_COLUMN}, r.rules FROM {BAD_ROWS} AS r JOIN {BATCH} AS b ON r.row = b.rowid"
                ).fetchall()
            )
            records += [_quarantine_entry(spec, f, 1, f.record, list(rules_of[f.number])) for f in bureau]
        for f in files:
            for line_number, error_types, raw_line in f.malformed:
                rules = [f"csv:{t}" for t in error_types.split(",")]
                records.append(_quarantine_entry(spec, f, line_number, {"_raw_line": raw_line}, rules))
                rule_counts.setdefault(f.number, Counter()).update(rules)
        frame = pd.DataFrame(
            records,
            columns=[
                "_file_id",
                "source_file",
                "table_name",
                "line_number",
                "record",
                "rules_broken",
                "export_date",
            ],
        )
        return frame.astype({c: "object" for c in frame.columns if c != "line_number"}), per_file, rule_counts

    def _insert_csv_quarantine(self, spec: TableSpec, files: list[_File], loaded_at: datetime) -> None:
        """Rejected CSV records, verbatim as JSON objects keyed by each file's own header."""
        join, line = self._line_sql()
        layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
        for f in files:
            if f.record is None:
                layouts.setdefault((tuple(f.header), tuple(f.names)), []).append(f.number)
        for (header, names), numbers in layouts.items():
            pairs = ", ".join(f"$key_{i}, b.{quote_ident(name)}" for i, name in enumerate(names))
            self.con.execute(
                f"INSERT INTO {RAW_SCHEMA}.{QUARANTINE_TABLE} "
                f"SELECT fl.file_id, fl.source_file, $table, {line}, json_object({pairs}), to_json(r.rules), "
                f"fl.export_date, $loaded_at "
                f"FROM {BATCH} AS b JOIN {BAD_ROWS} AS r ON r.row = b.rowid {join} "
                f"WHERE b.{FILE_COLUMN} IN (SELECT unnest($numbers))",
                {"table": spec.name, "loaded_at": loaded_at, "numbers": numbers}
                | {f"key_{i}": text for i, text in enumerate(header)},
            )

    def _insert_raw(self, spec: TableSpec, loaded_at: datetime) -> None:
        join, line = self._line_sql()
        typed = ", ".join(
            f"COALESCE({load_sql(c.name, c.type)}, {LOAD_DEFAULTS[spec.name, c.name]})"
            if (spec.name, c.name) in LOAD_DEFAULTS
            else load_sql(c.name, c.type)
            for c in spec.columns
        )
        columns = ", ".join(quote_ident(c) for c in [*spec.column_names, *LINEAGE_COLUMNS])
        self.con.execute(
            f"INSERT INTO {RAW_SCHEMA}.{spec.name} ({columns}) "
            f"SELECT {typed}, fl.file_id, fl.source_file, {line}, fl.export_date, $loaded_at "
            f"FROM {BATCH} AS b {join} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {BAD_ROWS} AS r WHERE r.row = b.rowid)",
            {"loaded_at": loaded_at},
        )

    def _insert_log(self, entries: list[dict]) -> None:
        frame = pd.DataFrame(entries, columns=list(INGEST_LOG_COLUMNS))
        frame = frame.astype({c: "object" for c in frame.columns})
        self.con.register("_ingest_log_frame", frame)
        self.con.execute(
            f"INSERT INTO {RAW_SCHEMA}.{INGEST_LOG_TABLE} SELECT "
            + ", ".join(f"CAST({quote_ident(c)} AS {t.split()[0]})" for c, t in INGEST_LOG_COLUMNS.items())
            + " FROM _ingest_log_frame"
        )
        self.con.unregister("_ingest_log_frame")


def _line_numbers(f: _File) -> list[int] | None:
    """The line of each well-formed record of a CSV file, or None when it is its position + 1."""
    if f.record is not None:
        return None
    malformed = {m[0] for m in f.malformed}
    if f.delivery.lines == 1 + f.rows + len(malformed):
        if not malformed:
            return None
        # one record per line: records after a malformed line sit one line lower than their position says
        return [line for line in range(2, 2 + f.rows + len(malformed)) if line not in malformed]
    # blank lines or quoted line breaks: find where each record starts
    lines: list[int] = []
    try:
        with f.delivery.path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            start = reader.line_num + 1
            for record in reader:
                if record and start not in malformed:
                    lines.append(start)
                start = reader.line_num + 1
    except (OSError, csv.Error):
        return None
    # should Python's reader split the file differently from DuckDB's, keep the positions
    return lines if len(lines) == f.rows else None


def _bureau_text(f: _File, column: str) -> str | None:
    """A bureau field as the text a CSV would carry (the loader validates text, then casts)."""
    if column == "client_id":
        return f.delivery.client_id
    value = f.record.get(column) if f.record is not None else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value)


def parse_bureau(path: Path) -> tuple[dict | None, date | None, str | None]:
    """(report object, fecha_consulta, None) or (None, None, why the file cannot be read as a report)."""
    try:
        record = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return None, None, f"not a UTF-8 JSON file ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(record, dict):
        return None, None, f"expected one JSON object, found a JSON {type(record).__name__}"
    raw = record.get("fecha_consulta")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None, "missing fecha_consulta: a bureau report must say when it was queried"
    try:
        if not isinstance(raw, str) or re.fullmatch(TYPE_PATTERNS[DATE], raw.strip()) is None:
            raise ValueError
        report_date = date.fromisoformat(raw.strip())
    except ValueError:
        return None, None, f"fecha_consulta {raw!r} is not a date YYYY-MM-DD"
    return record, report_date, None


def _quarantine_entry(spec: TableSpec, f: _File, line: int, record: dict, rules: list[str]) -> dict:
    return {
        "_file_id": f.delivery.file_id,
        "source_file": f.delivery.relpath,
        "table_name": spec.name,
        "line_number": line,
        "record": json.dumps(record, ensure_ascii=False, default=str),
        "rules_broken": json.dumps(sorted(set(rules))),
        "export_date": f.export_date,
    }


def _reject_summary(rules: Counter) -> str:
    parts = [f"{rule} ({count})" for rule, count in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "records quarantined for: " + ", ".join(parts)


def _log_entry(
    d: Delivery,
    status: str,
    rows_read: int,
    rows_loaded: int,
    message: str,
    started: datetime,
    finished: datetime,
    export_date: date | None,
) -> dict:
    return {
        "file_id": d.file_id,
        "file": d.relpath,
        "table_name": d.table,
        "content_hash": d.content_hash,
        "export_date": export_date if export_date is not None else d.export_date,
        "rows_read": rows_read,
        "rows_loaded": rows_loaded,
        "rows_rejected": rows_read - rows_loaded,
        "status": status,
        "message": message,
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": (finished - started).total_seconds(),
    }


def _public(entry: dict) -> dict:
    """An ingest-log entry as IngestResult reports it (`table` is the raw table)."""
    out = {k: v for k, v in entry.items() if k != "table_name"}
    out["table"] = entry["table_name"]
    for key in ("export_date", "started_at", "finished_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    return out
