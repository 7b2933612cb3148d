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

from ingest.batch import BatchFile
from ingest.discovery import Delivery
from ingest.quarantine import reject_summary
from ingest.validation import CLIENT_EXISTS_RULE, quote_ident
from ingest.writer import INGEST_LOG_COLUMNS, RawWriter, as_writer

LOADED, LOADED_WITH_REJECTS, REJECTED = "loaded", "loaded_with_rejects", "rejected"


# ---- what is due --------------------------------------------------------------------------------------


def delivery_history(
    writer: RawWriter, con: duckdb.DuckDBPyConnection
) -> tuple[set[tuple[str, str]], Counter]:
    """The (path, content hash) each path last delivered, and how many deliveries each (path, content
    hash) has had."""
    rows = writer.delivery_history(con)
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
    writer: RawWriter,
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
    replayable = writer.replay_candidates(con, table, CLIENT_EXISTS_RULE)
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


def insert_log_entries(con: duckdb.DuckDBPyConnection, entries: list[dict], target: str) -> None:
    """The log rows into `target` (the ingest log, or the table on `con` the writer loads it from)."""
    frame = pd.DataFrame(entries, columns=list(INGEST_LOG_COLUMNS))
    frame = frame.astype({c: "object" for c in frame.columns})
    con.register("_ingest_log_frame", frame)
    con.execute(
        f"INSERT INTO {target} SELECT "
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


def read_ingest_log(warehouse: Path | RawWriter) -> list[dict]:
    """The whole ingest log, oldest first, as JSON-ready dicts (`table` is the raw table); `warehouse` is a
    DuckDB file or a `RawWriter`."""
    names, rows = as_writer(warehouse).read_ingest_log()
    out = []
    for row in rows:
        entry = dict(zip(names, row, strict=True))
        entry["table"] = entry.pop("table_name")
        for key in ("export_date", "started_at", "finished_at"):
            if entry[key] is not None:
                entry[key] = entry[key].isoformat()
        out.append(entry)
    return out
