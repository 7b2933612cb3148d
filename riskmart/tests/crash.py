"""The crash harness: run `riskmart` as a real process, SIGKILL it at a chosen point of a chosen step, and
take snapshots of a warehouse (every table of every schema) and of its published bundle to compare runs.

Used by test_crash_safety.py (a kill at every step of the daily cycle) and soak.py (a backfill killed at
random points, `make soak`)."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from bundle import current_bundle
from contract import CSV_TABLES, HCPN_TABLE
from ml.warehouse import connect_warehouse
from riskmart.pipeline import STEP_STARTED

RISKMART = [sys.executable, "-m", "riskmart.cli"]
PROJECT = Path(__file__).resolve().parents[2]

RAW_DATA_TABLES = (*(t.name for t in CSV_TABLES), HCPN_TABLE)
STAGING_WITH_LOAD_TIME = (
    "stg_lender__clients",
    "stg_lender__orders",
    "stg_lender__payments",
    "stg_lender__utilization_months",
    "stg_lender__payment_plans",
    "stg_hcpn__bureau_reports",
)

# Columns that say *when* a run did its work rather than what it computed: two honest runs of the same data
# differ in them by construction (found by diffing two unbroken runs of the same day), so comparisons leave
# them out, and only them. Keyed by schema.table.
RUN_SPECIFIC_COLUMNS: dict[str, frozenset[str]] = {
    # the wall-clock time a delivery was loaded, on every raw row, quarantined row and log row
    **{f"raw.{t}": frozenset({"_loaded_at"}) for t in RAW_DATA_TABLES},
    "raw.quarantine": frozenset({"loaded_at"}),
    "raw.ingest_log": frozenset({"started_at", "finished_at", "duration_seconds"}),
    # the same load times, passed on by staging and by the delivery-impact model
    **{f"staging.{m}": frozenset({"loaded_at"}) for m in STAGING_WITH_LOAD_TIME},
    "intermediate.int_delivery_impact": frozenset({"finished_at"}),
    # the incremental machinery's watermarks: load times (above) and when a model recorded its settings
    "riskmart_meta.build_settings": frozenset({"recorded_at", "ingested_through"}),
    "riskmart_meta.staged_changes": frozenset({"ingested_through"}),
    # when a daily cycle finished, and its bundle's folder (named by its publish time)
    "riskmart_meta.cycle_runs": frozenset({"finished_at", "bundle"}),
    # when a day's feature build finished, and the digest of its inputs (which covers the ingest log's times)
    "riskmart_meta.feature_builds": frozenset({"inputs", "finished_at"}),
    # when the seeds were loaded (the digest of the project's inputs is the same for the same project)
    "riskmart_meta.seed_loads": frozenset({"loaded_at"}),
    # when a model was trained, changed status, or scored; where its folder is (named by its version)
    "ml.ml_model_registry": frozenset({"trained_at", "status_changed_at", "artifact_dir"}),
    "ml.ml_feature_baselines": frozenset({"created_at"}),
    "ml.ml_scores": frozenset({"scored_at"}),
}
# A model version is its training time and the first 8 hex digits of its model file's sha256
# (ml.registry.new_version): compared by the model's content, the time stripped, wherever it appears.
MODEL_VERSION = re.compile(r"\b\d{8}T\d{6}Z-([0-9a-f]{8})")
# The same run-specific facts in the published bundle's JSON files (manifest, model card, training record):
# when it was published or trained, its folder name, and its files' checksums (over the parquet files,
# which hold the run-specific columns above).
RUN_SPECIFIC_KEYS = frozenset({"published_at", "trained_at", "name", "files", "artifact_dir"})
# The published marts carry some of the warehouse's tables (scores, the model registry) with their columns.
BUNDLE_RUN_COLUMNS = frozenset().union(*RUN_SPECIFIC_COLUMNS.values())


def canonical(value: object) -> object:
    """A value with every model version replaced by its content part (see MODEL_VERSION)."""
    if isinstance(value, str):
        return MODEL_VERSION.sub(r"model-\1", value)
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items() if k not in RUN_SPECIFIC_KEYS}
    if isinstance(value, list | tuple):
        return type(value)(canonical(v) for v in value)
    return value


def run_specific(relation: str) -> frozenset[str]:
    schema = relation.split(".", 1)[0]
    return RUN_SPECIFIC_COLUMNS.get(relation, frozenset()) | RUN_SPECIFIC_COLUMNS.get(
        f"{schema}.*", frozenset()
    )


def warehouse_snapshot(warehouse: Path, ignore: Callable[[str], frozenset[str]] = run_specific) -> dict:
    """Every table of every schema of the warehouse: its rows (sorted, without the run-specific columns),
    and the names of its views."""
    snapshot: dict[str, object] = {}
    with connect_warehouse(warehouse, read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
            " order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            relation = f"{schema}.{table}"
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = current_database()"
                    " and schema_name = ? and table_name = ? order by column_index",
                    [schema, table],
                ).fetchall()
                if c not in ignore(relation)
            ]
            # a table of run-specific columns only is compared by its number of rows
            select = ", ".join(f'"{c}"' for c in columns) or "count(*)"
            rows = con.execute(f'select {select} from "{schema}"."{table}"').fetchall()  # noqa: S608
            snapshot[relation] = (columns, sorted((canonical(r) for r in rows), key=repr))
        snapshot["views"] = con.execute(
            "select schema_name, view_name from duckdb_views() where database_name = current_database()"
            " and not internal order by 1, 2"
        ).fetchall()
    return snapshot


def bundle_snapshot(publish_dir: Path) -> dict:
    """The current bundle, checked against its manifest's checksums (raises BundleError otherwise), by
    content: every parquet file's rows (sorted, without BUNDLE_RUN_COLUMNS), every JSON file and the
    manifest without RUN_SPECIFIC_KEYS, every other file's bytes; model versions by their content part."""
    bundle = current_bundle(publish_dir)
    assert bundle is not None, f"nothing published in {publish_dir}"
    snapshot: dict[str, object] = {"manifest": canonical(bundle.manifest)}
    for relative in sorted(bundle.files):
        path = bundle.file(relative)
        if relative.endswith(".parquet"):
            table = pq.read_table(path)
            table = table.drop_columns([c for c in table.column_names if c in BUNDLE_RUN_COLUMNS])
            rows = [tuple(canonical(v) for v in row.values()) for row in table.to_pylist()]
            snapshot[relative] = (table.column_names, sorted(rows, key=repr))
        elif relative.endswith(".json"):
            snapshot[relative] = canonical(json.loads(path.read_text(encoding="utf-8")))
        else:
            snapshot[relative] = canonical(path.read_text(encoding="utf-8", errors="replace"))
    return snapshot


def differences(left: dict, right: dict) -> list[str]:
    """What differs between two snapshots, one line per relation or file (empty when equal)."""
    lines = []
    for key in sorted(set(left) | set(right)):
        if key not in left or key not in right:
            lines.append(f"{key}: only in the {'second' if key not in left else 'first'}")
        elif left[key] != right[key]:
            a, b = left[key], right[key]
            if isinstance(a, tuple) and len(a) == 2 and isinstance(a[1], list):
                only_a = [r for r in a[1] if r not in b[1]][:2]
                only_b = [r for r in b[1] if r not in a[1]][:2]
                lines.append(f"{key}: {len(a[1])} vs {len(b[1])} rows; e.g. {only_a} vs {only_b}")
            else:
                lines.append(f"{key}: {str(a)[:300]} vs {str(b)[:300]}")
    return lines


def copy_installation(source: Path, target: Path) -> Path:
    """A copy of a warehouse folder (warehouse file, model registry, published bundles, dbt's state)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


# ---- killing a run at a point of a step -------------------------------------------------------------


class KillPoint:
    """When to kill, once a step's start mark is printed: `armed()` runs at the mark, `due()` is polled."""

    def armed(self) -> None:  # pragma: no cover - a default that does nothing
        return None

    def due(self) -> bool:
        raise NotImplementedError


@dataclass
class FileGrows(KillPoint):
    """A file grew since the step started: the warehouse's write-ahead log (`<warehouse>.wal`: the step is
    committing data), dbt's log (a dbt command of the step is running). With `settle`, the file then kept its
    size that many seconds: the write that grew it is over (a commit's WAL records are written in several
    writes, and a transaction whose last record is not written is not replayed)."""

    path: Path
    settle: float = 0.0
    start: int = 0
    _last: tuple[int, float] = (0, 0.0)

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def armed(self) -> None:
        self.start = self._size()

    def due(self) -> bool:
        size = self._size()
        if size <= self.start or not self.settle:
            return size > self.start
        now = time.monotonic()
        if size != self._last[0]:
            self._last = (size, now)
            return False
        return now - self._last[1] >= self.settle


class AnyOf(KillPoint):
    """Whichever of the points comes first."""

    def __init__(self, *points: KillPoint) -> None:
        self.points = points

    def armed(self) -> None:
        for point in self.points:
            point.armed()

    def due(self) -> bool:
        return any(point.due() for point in self.points)


@dataclass
class DbtNodesDone(KillPoint):
    """dbt's log reports `nodes` more models created than when the step started: mid-build."""

    log: Path
    nodes: int
    offset: int = 0

    def armed(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def due(self) -> bool:
        if not self.log.exists():
            return False
        with self.log.open("rb") as f:
            f.seek(self.offset)
            return f.read().count(b" OK created ") >= self.nodes


@dataclass
class NewEntry(KillPoint):
    """A new entry matching `pattern` appears in `folder` (a model's artifact folder, a bundle being written)."""

    folder: Path
    pattern: str
    before: set[str] = field(default_factory=set)

    def _entries(self) -> set[str]:
        return {p.name for p in self.folder.glob(self.pattern)} if self.folder.is_dir() else set()

    def armed(self) -> None:
        self.before = self._entries()

    def due(self) -> bool:
        return bool(self._entries() - self.before)


@dataclass
class After(KillPoint):
    """`seconds` after the step started (a step that writes only in its last instant)."""

    seconds: float
    deadline: float = 0.0

    def armed(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def due(self) -> bool:
        return time.monotonic() >= self.deadline


@dataclass
class KilledRun:
    output: str
    killed: bool  # False when the process ended before the kill point came


# how every riskmart process of the harness runs: from the project, its output (stdout and stderr) piped
PROCESS = {"cwd": PROJECT, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, queue.Queue]:
    """Start `riskmart <args>`; its output lines arrive in the queue as (monotonic time, line), then None."""
    process = subprocess.Popen([*RISKMART, *args], env=env, **PROCESS)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put((time.monotonic(), line))
        lines.put((time.monotonic(), None))

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def kill_during(
    args: list[str], env: dict[str, str], step: str, point: KillPoint, *, timeout: float = 900
) -> KilledRun:
    """Start `riskmart <args>`, wait for `step`'s start mark, then for `point`, and SIGKILL the process."""
    process, lines = start(args, env)
    output: list[str] = []
    mark = STEP_STARTED.format(step=step)
    deadline = time.monotonic() + timeout
    armed = killed = ended = False
    while not ended and time.monotonic() < deadline:
        try:
            _, line = lines.get(timeout=0.002)
        except queue.Empty:
            line = ""
        if line is None:
            ended = True
            break
        output.append(line)
        if not armed and line.strip() == mark:
            point.armed()
            armed = True
        if armed and point.due():
            process.send_signal(signal.SIGKILL)
            killed = True
            break
    if not ended and not killed:
        process.kill()
    process.wait(timeout=60)
    while (item := lines.get(timeout=60)[1]) is not None:
        output.append(item)
    return KilledRun("".join(output), killed)


def riskmart(args: list[str], env: dict[str, str], *, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `riskmart <args>` to its end; output (stdout and stderr) in `.stdout`."""
    return subprocess.run([*RISKMART, *args], env=env, timeout=timeout, **PROCESS)


def cycle_env(landing: Path, truth: Path, warehouse: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "RISKMART_LANDING": str(landing),
        "RISKMART_TRUTH": str(truth),
        "RISKMART_WAREHOUSE": str(warehouse),
        **extra,
    }
