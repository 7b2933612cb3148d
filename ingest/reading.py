"""Reading: the files of a batch into one working table of records, every field as text.

A CSV file's header is checked against the contract first (a file whose header does not fit is rejected
whole); the files that fit are read by DuckDB's `read_csv`, many at once, into `RECORDS`, and the lines
the CSV reader cannot split into the header's columns are kept aside, verbatim, for the quarantine. A
bureau report is one JSON object: one record. Reading never judges a value: that is validation's job.

Line numbers are physical lines of the file (the header is line 1), also when blank lines or quoted
line breaks make records and lines differ; a JSON report is line 1.
"""

# SQL here interpolates only our own identifiers (contract names, working tables); values are parameters.
# ruff: noqa: S608

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from contract import DATE, TableSpec
from ingest.batch import (
    CSV_PARSE_ERRORS,
    CSV_PARSE_SCANS,
    DELIVERIES_TO_LOAD,
    RECORDS,
    SHIFTED_LINES,
    BatchFile,
)
from ingest.discovery import Delivery
from ingest.validation import EXPORT_DATE_COLUMN, FILE_COLUMN, HCPN_SPEC, TYPE_PATTERNS, quote_ident

MAX_HEADER_BYTES = 1 << 20
HEADER_CHUNK_BYTES = 1 << 13

# A CSV delivery whose header fits the contract: (delivery, header as written, `RECORDS` column of each field)
Readable = tuple[Delivery, list[str], list[str]]


# ---- CSV ----------------------------------------------------------------------------------------------


def read_header(d: Delivery) -> tuple[list[str] | None, str | None]:
    """The header row of a CSV file as written, or the reason it is not a readable UTF-8 CSV."""
    head = b""
    with d.open() as handle:
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
    """`RECORDS` column of each header field (contract name or `_extra_<i>`), or why the header fails."""
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


def check_headers(
    spec: TableSpec, deliveries: list[Delivery]
) -> tuple[list[Readable], list[tuple[Delivery, str]], list[str]]:
    """The deliveries whose header fits the contract, those rejected whole with the reason, and the paths
    gone since discovery."""
    readable: list[Readable] = []
    rejected: list[tuple[Delivery, str]] = []
    gone: list[str] = []
    for d in deliveries:
        try:
            header, problem = read_header(d)
        except OSError:
            gone.append(d.relpath)
            continue
        names = None
        if header is not None:
            names, problem = match_header(spec, header)
        if problem:
            rejected.append((d, problem))
        else:
            readable.append((d, header, names))
    return readable, rejected, gone


def read_csv_files(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    readable: list[Readable],
    rejected: list[tuple[Delivery, str]],
) -> list[BatchFile]:
    """Read the files into a new `RECORDS`, files with the same header layout in one `read_csv`; a file
    DuckDB cannot read at all is added to `rejected`."""
    extras = max(
        (int(n[7:]) + 1 for _, _, names in readable for n in names if n.startswith("_extra_")), default=0
    )
    columns = create_records_table(con, spec, extras)
    groups: dict[tuple[str, ...], list[Readable]] = {}
    for item in readable:
        groups.setdefault(tuple(item[2]), []).append(item)
    files: list[BatchFile] = []
    for names, members in groups.items():
        group_files = [
            BatchFile(
                number=len(files) + i,
                delivery=d,
                export_date=d.export_date,
                header=header,
                names=list(names),
            )
            for i, (d, header, _) in enumerate(members)
        ]
        try:
            _read_csv_group(con, columns, group_files)
        except duckdb.Error:
            # one unreadable file spoils a multi-file read: read them one by one to find it
            for single in group_files:
                single.number = len(files)
                try:
                    _read_csv_group(con, columns, [single])
                except duckdb.Error as exc:
                    first_line = str(exc).strip().splitlines()[0][:300]
                    rejected.append((single.delivery, f"could not be read as CSV: {first_line}"))
                    continue
                files.append(single)
            continue
        files.extend(group_files)
    _count_rows(con, files)
    return files


def create_records_table(con: duckdb.DuckDBPyConnection, spec: TableSpec, extras: int) -> list[str]:
    columns = [*spec.column_names, *(f"_extra_{i}" for i in range(extras))]
    body = ", ".join(f"{quote_ident(c)} VARCHAR" for c in columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {RECORDS} ({FILE_COLUMN} BIGINT, {EXPORT_DATE_COLUMN} DATE, {body})"
    )
    return columns


def _read_csv_group(con: duckdb.DuckDBPyConnection, columns: list[str], group: list[BatchFile]) -> None:
    names = group[0].names
    select = ", ".join(quote_ident(c) if c in names else f"NULL AS {quote_ident(c)}" for c in columns)
    paths = [str(f.delivery.path) for f in group]
    con.execute(f"DROP TABLE IF EXISTS {CSV_PARSE_ERRORS}")
    con.execute(f"DROP TABLE IF EXISTS {CSV_PARSE_SCANS}")
    with in_read_order(con):
        con.execute(
            f"""
            INSERT INTO {RECORDS}
            SELECT file_index::BIGINT + $base, $dates[file_index::BIGINT + 1], {select}
            FROM read_csv(
                $paths, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
                escape = '"', encoding = 'utf-8', store_rejects = true,
                rejects_table = '{CSV_PARSE_ERRORS}', rejects_scan = '{CSV_PARSE_SCANS}'
            )
            """,
            {
                "base": group[0].number,
                "dates": [f.export_date for f in group],
                "paths": paths,
                "columns": {n: "VARCHAR" for n in names},
            },
        )
    by_path = {p: f for p, f in zip(paths, group, strict=True)}
    errors = con.execute(
        f"""
        SELECT s.file_path, e.line, string_agg(DISTINCT lower(replace(e.error_type, ' ', '_')), ','),
               any_value(e.csv_line)
        FROM {CSV_PARSE_ERRORS} e JOIN {CSV_PARSE_SCANS} s USING (scan_id, file_id)
        GROUP BY ALL ORDER BY 1, 2
        """
    ).fetchall()
    for path, line, error_types, raw_line in errors:
        by_path[path].malformed.append((int(line), error_types, raw_line))


@contextmanager
def in_read_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep read order while inserting into `RECORDS`: line numbers are derived from it."""
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute("SET preserve_insertion_order = false")


def _count_rows(con: duckdb.DuckDBPyConnection, files: list[BatchFile]) -> None:
    counts = con.execute(f"SELECT {FILE_COLUMN}, count(*), min(rowid) FROM {RECORDS} GROUP BY 1").fetchall()
    by_number = {f.number: f for f in files}
    for number, rows, start in counts:
        by_number[number].rows, by_number[number].start_row = rows, start


# ---- bureau JSON --------------------------------------------------------------------------------------


def parse_bureau(d: Delivery) -> tuple[dict | None, date | None, str | None]:
    """(report object, fecha_consulta, None) or (None, None, why the file cannot be read as a report)."""
    try:
        with d.open() as handle:
            content = handle.read()
        record = json.loads(content.decode("utf-8-sig"))
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


def read_bureau_reports(
    deliveries: list[Delivery], as_of: date | None
) -> tuple[list[BatchFile], list[tuple[Delivery, str]], list[str], int]:
    """The reports that parse and are due, those rejected whole with the reason, the paths gone since
    discovery, and how many reports were queried after `as_of` (left for a later run)."""
    files: list[BatchFile] = []
    rejected: list[tuple[Delivery, str]] = []
    gone: list[str] = []
    not_yet_due = 0
    for d in deliveries:
        try:
            record, report_date, problem = parse_bureau(d)
        except OSError:
            gone.append(d.relpath)
            continue
        if problem:
            rejected.append((d, problem))
        elif as_of is not None and report_date > as_of:
            not_yet_due += 1
        else:
            header = list(record)
            files.append(BatchFile(len(files), d, report_date, header, header, record=record, rows=1))
    return files, rejected, gone, not_yet_due


def write_bureau_records(con: duckdb.DuckDBPyConnection, files: list[BatchFile]) -> None:
    """The reports into a new `RECORDS`, one record each, every field as the text a CSV would carry."""
    columns = create_records_table(con, HCPN_SPEC, 0)
    frame = pd.DataFrame(
        {
            FILE_COLUMN: np.arange(len(files), dtype=np.int64),
            EXPORT_DATE_COLUMN: pd.Series([f.export_date for f in files], dtype="object"),
            **{c: pd.Series([_bureau_text(f, c) for f in files], dtype="object") for c in columns},
        }
    )
    con.register("_ingest_bureau_frame", frame)
    try:
        with in_read_order(con):
            con.execute(
                f"INSERT INTO {RECORDS} SELECT {FILE_COLUMN}, CAST({EXPORT_DATE_COLUMN} AS DATE), "
                + ", ".join(f"CAST({quote_ident(c)} AS VARCHAR)" for c in columns)
                + " FROM _ingest_bureau_frame ORDER BY 1"
            )
    finally:
        con.unregister("_ingest_bureau_frame")
    for f in files:
        f.start_row = f.number + 1  # a JSON report is line 1 (line = rowid - start_row + 2)


def _bureau_text(f: BatchFile, column: str) -> str | None:
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


# ---- where each record came from ----------------------------------------------------------------------


def register_deliveries_to_load(con: duckdb.DuckDBPyConnection, files: list[BatchFile]) -> None:
    """`DELIVERIES_TO_LOAD` and `SHIFTED_LINES` of the files that go on to the quarantine and the load."""
    frame = pd.DataFrame(
        {
            "file": pd.Series([f.number for f in files], dtype="int64"),
            "file_id": pd.Series([f.delivery.file_id for f in files], dtype="object"),
            "source_file": pd.Series([f.delivery.relpath for f in files], dtype="object"),
            "export_date": pd.Series([f.export_date for f in files], dtype="object"),
            "start_row": pd.Series([f.start_row for f in files], dtype="int64"),
        }
    )
    con.register("_ingest_deliveries_frame", frame)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DELIVERIES_TO_LOAD} AS SELECT file, file_id, source_file, "
        "CAST(export_date AS DATE) AS export_date, start_row FROM _ingest_deliveries_frame"
    )
    con.unregister("_ingest_deliveries_frame")
    shifted = [
        (f.number, ordinal, line) for f in files for ordinal, line in enumerate(_line_numbers(f) or ())
    ]
    frame = pd.DataFrame(shifted, columns=["file", "ordinal", "line"], dtype="int64")
    con.register("_ingest_shifted_lines_frame", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SHIFTED_LINES} AS SELECT * FROM _ingest_shifted_lines_frame")
    con.unregister("_ingest_shifted_lines_frame")


def line_sql(alias: str = "b") -> tuple[str, str]:
    """(join clause, line-number expression) for `RECORDS` rows aliased `alias`; the join names the
    delivery `fl` (file_id, source_file, export_date)."""
    join = (
        f"JOIN {DELIVERIES_TO_LOAD} AS fl ON fl.file = {alias}.{FILE_COLUMN} "
        f"LEFT JOIN {SHIFTED_LINES} AS shifted ON shifted.file = {alias}.{FILE_COLUMN} "
        f"AND shifted.ordinal = {alias}.rowid - fl.start_row"
    )
    return join, f"COALESCE(shifted.line, {alias}.rowid - fl.start_row + 2)"


def _line_numbers(f: BatchFile) -> list[int] | None:
    """The line of each well-formed record of a CSV file, or None when it is its position + 2."""
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
        with f.delivery.open_text() as handle:
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
