"""The ingest log, `raw.ingest_log`: one row per delivery, loaded or rejected, and what the log decides.

It is the memory of the ingest: the content each path last delivered is skipped (a re-run loads nothing
twice), the same content at a path again after other content is numbered as a re-delivery, and a file
whose rows waited for a client that has since arrived is found here to be loaded again (a replay).
"""

# SQL here interpolates only our own identifiers (contract names, working tables); values are parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from contract import INGEST_LOG_TABLE, QUARANTINE_TABLE, RAW_SCHEMA
from ingest.batch import BatchFile
from ingest.discovery import Delivery
from ingest.quarantine import reject_summary
from ingest.validation import CLIENT_EXISTS_RULE, quote_ident
from ingest.warehouse import connect_warehouse

LOADED, LOADED_WITH_REJECTS, REJECTED = "loaded", "loaded_with_rejects", "rejected"

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


# ---- what is due --------------------------------------------------------------------------------------


def delivery_history(con: duckdb.DuckDBPyConnection) -> tuple[set[tuple[str, str]], Counter]:
    """The (path, content hash) each path last delivered, and how many deliveries each (path, content
    hash) has had."""
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


def not_delivered_yet(
    deliveries: list[Delivery], latest: set[tuple[str, str]], earlier: Counter
) -> list[Delivery]:
    """The deliveries whose content is not what their path last delivered (`latest`), each numbered by how
    often the path delivered that same content before (`earlier`: 0 for new content; 1 for A, B, then A)."""
    return [
        replace(d, redelivery=earlier[(d.relpath, d.content_hash)])
        for d in deliveries
        if (d.relpath, d.content_hash) not in latest
    ]


def replays_for_known_clients(
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


# ---- what happened ------------------------------------------------------------------------------------


def log_entry(
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


def batch_log_entries(
    files: list[BatchFile],
    rejected: list[tuple[Delivery, str]],
    rejected_per_file: Counter,
    rule_counts: dict[int, Counter],
    started: datetime,
    loaded_at: datetime,
) -> list[dict]:
    """One entry per delivery of a batch: loaded (with or without quarantined records) or rejected whole."""
    entries = []
    for f in files:
        read = f.rows + len(f.malformed)
        bad = rejected_per_file.get(f.number, 0) + len(f.malformed)
        status = LOADED_WITH_REJECTS if bad else LOADED
        message = reject_summary(rule_counts.get(f.number, Counter())) if bad else ""
        entries.append(
            log_entry(f.delivery, status, read, read - bad, message, started, loaded_at, f.export_date)
        )
    entries += [log_entry(d, REJECTED, 0, 0, m, started, loaded_at, None) for d, m in rejected]
    return entries


def insert_log_entries(con: duckdb.DuckDBPyConnection, entries: list[dict]) -> None:
    frame = pd.DataFrame(entries, columns=list(INGEST_LOG_COLUMNS))
    frame = frame.astype({c: "object" for c in frame.columns})
    con.register("_ingest_log_frame", frame)
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}.{INGEST_LOG_TABLE} SELECT "
        + ", ".join(f"CAST({quote_ident(c)} AS {t.split()[0]})" for c, t in INGEST_LOG_COLUMNS.items())
        + " FROM _ingest_log_frame"
    )
    con.unregister("_ingest_log_frame")


def public_entry(entry: dict) -> dict:
    """An ingest-log entry as IngestResult reports it (`table` is the raw table)."""
    out = {k: v for k, v in entry.items() if k != "table_name"}
    out["table"] = entry["table_name"]
    for key in ("export_date", "started_at", "finished_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    return out


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
