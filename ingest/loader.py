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

This module conducts; each step is a room of its own, in the order a delivery goes through them:
discovery.py (what is in the landing) → log.py (what is due) → reading.py (records as text) →
validation.py (Great Expectations) → quarantine.py (rejected records with their rules) → loading.py
(typed rows, the batch's one transaction) → log.py (one row per delivery). batch.py names the working
tables a batch fills on the way.
"""

# SQL here interpolates only our own identifiers (contract names, working tables).
# ruff: noqa: S608

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from contract import CSV_TABLES, TableSpec
from ingest.batch import KNOWN_CLIENTS, BatchFile, PhaseClock, utc_now
from ingest.discovery import Delivery, discover, open_landing
from ingest.loading import commit_batch, commit_log_entries
from ingest.log import (
    REJECTED,
    batch_log_entries,
    delivery_history,
    log_entry,
    not_delivered_yet,
    public_entry,
    read_ingest_log,
    replays_for_known_clients,
)
from ingest.quarantine import collect_rejected_rows, count_rejected
from ingest.reading import (
    check_headers,
    read_bureau_reports,
    read_csv_files,
    register_deliveries_to_load,
    write_bureau_records,
)
from ingest.validation import (
    HCPN_SPEC,
    Validator,
    import_great_expectations,
    start_broken_rules,
    validate_records,
)
from ingest.writer import RawWriter, as_writer

__all__ = ["IngestResult", "ingest_landing", "read_ingest_log"]

# Deliveries of one table are read, validated and committed together up to about this much CSV.
BATCH_BYTES = 384 * 1024 * 1024
BATCH_BUREAU_FILES = 50_000


@dataclass
class IngestResult:
    """What one `ingest_landing` call did."""

    files: list[dict]  # one per delivery processed in this run (see `ingest.log.log_entry`)
    skipped: int = 0  # deliveries already in the ingest log
    not_yet_due: int = 0  # deliveries exported after `as_of`, left for a later run
    changed_during_load: list[str] = field(default_factory=list)  # rewritten while read; next run loads them
    replayed: list[str] = field(default_factory=list)  # loaded again: quarantined rows' clients now exist
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (for benchmarks)


def ingest_landing(
    landing: Path | str,
    warehouse: Path | RawWriter,
    as_of: date | None = None,
    *,
    batch_bytes: int = BATCH_BYTES,
    hash_cache: Path | None = None,
) -> IngestResult:
    """Load every delivery in `landing` not loaded yet (exported on or before `as_of`) into `warehouse`.

    `landing` is a local folder or an fsspec URL (`gs://bucket/prefix`, ...); `warehouse` a DuckDB file or
    a `RawWriter` (e.g. `ingest.bigquery.BigQueryRawWriter(client, project)`). With `hash_cache` (a JSON
    file, see ingest.discovery.HashCache) only the files new or changed since it was written are read to
    find the deliveries."""
    started = time.perf_counter()
    writer = as_writer(warehouse)
    source = open_landing(landing)
    deliveries = discover(source, hash_cache=hash_cache)
    result = IngestResult(files=[], timings={"discover": time.perf_counter() - started})
    with writer.open() as con:
        source.register(con)
        writer.ensure_tables(con)
        latest, earlier = delivery_history(writer, con)
        pending = not_delivered_yet(deliveries, latest, earlier)
        result.skipped = len(deliveries) - len(pending)
        due = [
            d
            for d in pending
            if d.problem or as_of is None or d.export_date is None or d.export_date <= as_of
        ]
        result.not_yet_due = len(pending) - len(due)
        # Great Expectations takes seconds of Python to import: only when a file is to be validated, in a
        # thread while the first batch is read (DuckDB's reader releases the GIL)
        importer = None
        if any(not d.problem for d in due):
            importer = threading.Thread(target=import_great_expectations, daemon=True)
            importer.start()
        run = _Run(con, writer, result, importer)
        run.reject_whole([(d, d.problem) for d in due if d.problem])
        for spec in CSV_TABLES:
            todo = [d for d in due if not d.problem and d.table == spec.name]
            if spec.client_must_exist:
                # after this run's clients files: the clients they bring count for the replay too
                replays = replays_for_known_clients(writer, con, spec.name, deliveries, todo, earlier)
                result.replayed += [d.relpath for d in replays]
                todo += replays
            for batch in _batches(todo, batch_bytes):
                run.load_csv_batch(spec, batch)
        run.load_bureau([d for d in due if not d.problem and d.is_bureau], as_of)
    result.seconds = time.perf_counter() - started
    return result


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


class _Run:
    """One ingest run on one open warehouse connection: each batch through the rooms, in order."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        writer: RawWriter,
        result: IngestResult,
        importer: threading.Thread | None = None,
    ) -> None:
        self.con = con
        self._importer = importer
        self.writer = writer
        self.result = result
        self.clock = PhaseClock(result.timings)
        self._validator: Validator | None = None
        self._clients_ready = False

    def reject_whole(self, rejected: list[tuple[Delivery, str]]) -> None:
        """Deliveries that are not the contract's files: one log row each, nothing loaded."""
        if not rejected:
            return
        now = utc_now()
        entries = [log_entry(d, REJECTED, 0, 0, message, now, now, None) for d, message in rejected]
        commit_log_entries(self.con, self.writer, entries, self.clock)
        self.result.files.extend(public_entry(e) for e in entries)

    def load_csv_batch(self, spec: TableSpec, deliveries: list[Delivery]) -> None:
        started = utc_now()
        readable, rejected, gone = check_headers(spec, deliveries)
        self.result.changed_during_load.extend(gone)
        with self.clock("read"):
            files = read_csv_files(self.con, spec, readable, rejected)
        self._validate_quarantine_and_load(spec, files, rejected, started)

    def load_bureau(self, deliveries: list[Delivery], as_of: date | None) -> None:
        for offset in range(0, len(deliveries), BATCH_BUREAU_FILES):
            started = utc_now()
            files, rejected, gone, not_yet_due = read_bureau_reports(
                deliveries[offset : offset + BATCH_BUREAU_FILES], as_of
            )
            self.result.changed_during_load.extend(gone)
            self.result.not_yet_due += not_yet_due
            write_bureau_records(self.con, files)
            self._validate_quarantine_and_load(HCPN_SPEC, files, rejected, started)

    def _validate_quarantine_and_load(
        self, spec: TableSpec, files: list[BatchFile], rejected: list[tuple[Delivery, str]], started: datetime
    ) -> None:
        start_broken_rules(self.con)
        if any(f.rows for f in files):
            with self.clock("validate"):
                known = self._known_clients() if spec.client_must_exist else None
                validate_records(self.con, spec, self._get_validator(), known, self.clock)
        collect_rejected_rows(self.con)
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

        register_deliveries_to_load(self.con, files)
        with self.clock("quarantine"):
            quarantine, rejected_per_file, rule_counts = count_rejected(self.con, spec, files)
        loaded_at = utc_now()
        entries = batch_log_entries(files, rejected, rejected_per_file, rule_counts, started, loaded_at)
        commit_batch(self.con, self.writer, spec, files, quarantine, entries, loaded_at, self.clock)
        self.result.files.extend(public_entry(e) for e in entries)

    def _get_validator(self) -> Validator:
        """One Great Expectations context per run, made when the first batch is validated."""
        if self._validator is None:
            with self.clock("great_expectations_setup"):
                if self._importer is not None:
                    self._importer.join()
                self._validator = Validator()
        return self._validator

    def _known_clients(self) -> str:
        """A working table of every client id loaded so far (clients load first in every run)."""
        if not self._clients_ready:
            self.writer.create_known_clients(self.con, KNOWN_CLIENTS)
            self._clients_ready = True
        return KNOWN_CLIENTS
