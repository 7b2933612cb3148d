"""One batch of deliveries on its way through the rooms (reading → validation → quarantine → loading → log):
the working tables it fills, the record each of its files gets, and the clock of its phases.

The working tables are TEMP tables of the run's connection: they vanish with it, so a crash leaves
nothing behind. A record's row in `RECORDS` is its position in the batch (`rowid`); every other working
table refers to records by that row.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ingest.discovery import Delivery

# reading: every record of the batch, every field as text, in read order
RECORDS = "_ingest_records"
# reading: the lines DuckDB's CSV reader could not split into the header's columns, and its scans
CSV_PARSE_ERRORS = "_ingest_csv_parse_errors"
CSV_PARSE_SCANS = "_ingest_csv_parse_scans"
# validation: every client id loaded so far (clients files load first in every run)
KNOWN_CLIENTS = "_ingest_known_clients"
# validation: the distinct keys of one group of rules (numbered by group)
DISTINCT_KEYS = "_ingest_distinct_keys_{}"
# validation: one row per rule a record breaks (row, rule)
BROKEN_RULES = "_ingest_broken_rules"
# quarantine: each rejected record with every rule it breaks (row, rules)
REJECTED_ROWS = "_ingest_rejected_rows"
# quarantine and loading: the batch's deliveries that are loaded (file number, file_id, path, export date)
DELIVERIES_TO_LOAD = "_ingest_deliveries_to_load"
# quarantine and loading: the physical line of each record not on line position + 2 (blank lines, quoted
# line breaks, malformed lines before it)
SHIFTED_LINES = "_ingest_shifted_lines"


@dataclass
class BatchFile:
    """A delivery being loaded in the current batch."""

    number: int
    delivery: Delivery
    export_date: date
    header: list[str]  # as written in the file (bureau: the JSON keys)
    names: list[str]  # `RECORDS` column of each header field
    record: dict | None = None  # bureau: the JSON object as parsed
    rows: int = 0  # records read into `RECORDS`
    start_row: int = 0  # `RECORDS` rowid of its first record
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, rule, raw line)


class PhaseClock:
    """Adds the seconds spent in each phase of a run to `seconds` (the benchmarks read them)."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - started


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
