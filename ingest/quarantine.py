"""Quarantine: every rejected record kept in `raw.quarantine`, verbatim, with every rule it broke.

A CSV record is kept as a JSON object keyed by its file's own header (built by DuckDB from `RECORDS`); a
bureau report as its JSON object; a line the CSV reader could not split as `{"_raw_line": ...}` with a
`csv:<error>` rule. The quarantine is an audit trail: rows are only ever added.
"""

# SQL here interpolates only our own identifiers (contract names, working tables); values are parameters.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from contract import TableSpec
from ingest.batch import BROKEN_RULES, RECORDS, REJECTED_ROWS, BatchFile
from ingest.reading import line_sql
from ingest.validation import FILE_COLUMN, quote_ident
from ingest.writer import QUARANTINE_COLUMNS

__all__ = ["QUARANTINE_COLUMNS", "collect_rejected_rows", "count_rejected", "reject_summary"]


def collect_rejected_rows(con: duckdb.DuckDBPyConnection) -> None:
    """`REJECTED_ROWS`: each record that broke a rule, with all the rules it broke, sorted."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {REJECTED_ROWS} AS "
        f"SELECT row, list(DISTINCT rule ORDER BY rule) AS rules FROM {BROKEN_RULES} GROUP BY row"
    )


def count_rejected(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, files: list[BatchFile]
) -> tuple[pd.DataFrame, Counter, dict[int, Counter]]:
    """Quarantine records built in Python (bureau reports, malformed CSV lines), rejected rows per file,
    and rule counts per file. Rejected CSV records are written by `insert_rejected_csv_records`."""
    per_file: Counter = Counter()
    rule_counts: dict[int, Counter] = {}
    counts = con.execute(
        f"SELECT b.{FILE_COLUMN}, rule, count(*) FROM {REJECTED_ROWS} AS r JOIN {RECORDS} AS b ON r.row = b.rowid, "
        "unnest(r.rules) AS u(rule) GROUP BY ALL"
    ).fetchall()
    for number, rule, count in counts:
        rule_counts.setdefault(number, Counter())[rule] = count
    for number, count in con.execute(
        f"SELECT b.{FILE_COLUMN}, count(*) FROM {REJECTED_ROWS} AS r JOIN {RECORDS} AS b ON r.row = b.rowid GROUP BY 1"
    ).fetchall():
        per_file[number] = count
    records: list[dict[str, Any]] = []
    bureau = [f for f in files if f.record is not None and per_file.get(f.number)]
    if bureau:
        rules_of = dict(
            con.execute(
                f"SELECT b.{FILE_COLUMN}, r.rules FROM {REJECTED_ROWS} AS r JOIN {RECORDS} AS b ON r.row = b.rowid"
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


def insert_rejected_csv_records(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, files: list[BatchFile], loaded_at: datetime, target: str
) -> None:
    """Rejected CSV records, verbatim as JSON objects keyed by each file's own header, into `target` (the
    quarantine, or the table on `con` the writer loads it from)."""
    join, line = line_sql()
    layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for f in files:
        if f.record is None:
            layouts.setdefault((tuple(f.header), tuple(f.names)), []).append(f.number)
    for (header, names), numbers in layouts.items():
        pairs = ", ".join(f"$key_{i}, b.{quote_ident(name)}" for i, name in enumerate(names))
        con.execute(
            f"INSERT INTO {target} "
            f"SELECT fl.file_id, fl.source_file, $table, {line}, json_object({pairs}), to_json(r.rules), "
            f"fl.export_date, $loaded_at "
            f"FROM {RECORDS} AS b JOIN {REJECTED_ROWS} AS r ON r.row = b.rowid {join} "
            f"WHERE b.{FILE_COLUMN} IN (SELECT unnest($numbers))",
            {"table": spec.name, "loaded_at": loaded_at, "numbers": numbers}
            | {f"key_{i}": text for i, text in enumerate(header)},
        )


def insert_quarantine_records(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, loaded_at: datetime, target: str
) -> None:
    """The quarantine records built in Python (see `count_rejected`), into `target`."""
    if not len(frame):
        return
    frame["loaded_at"] = loaded_at
    con.register("_ingest_quarantine_frame", frame)
    con.execute(
        f"INSERT INTO {target} "
        "SELECT _file_id, source_file, table_name, line_number, record::JSON, rules_broken::JSON, "
        "export_date::DATE, loaded_at::TIMESTAMP FROM _ingest_quarantine_frame"
    )
    con.unregister("_ingest_quarantine_frame")


def reject_summary(rules: Counter) -> str:
    """The ingest log's message for a file with quarantined records: each rule with its count."""
    parts = [f"{rule} ({count})" for rule, count in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "records quarantined for: " + ", ".join(parts)


def _quarantine_entry(spec: TableSpec, f: BatchFile, line: int, record: dict, rules: list[str]) -> dict:
    return {
        "_file_id": f.delivery.file_id,
        "source_file": f.delivery.relpath,
        "table_name": spec.name,
        "line_number": line,
        "record": json.dumps(record, ensure_ascii=False, default=str),
        "rules_broken": json.dumps(sorted(set(rules))),
        "export_date": f.export_date,
    }
