"""Retention and compaction of the warehouse: `riskmart maintain`, and the last step of `riskmart run`.

What grows every day, and what is done with it:

* `riskmart_meta.staged_changes`, the log of staged event changes the incremental feature models read:
  the rows every reading model has consumed are deleted (the dbt macro `prune_staged_changes`, which
  finds the readers in dbt's graph and their watermarks in `riskmart_meta.build_settings`). A row some
  model has not read yet is never deleted.
* `ml.ml_scores.contributions`, the full per-feature contributions JSON of every score row (~1.9 KB a
  row): kept for the newest `contributions_keep_days` score dates, then set to NULL. The top reasons of
  every score (`ml.ml_score_reasons`, three rows per client and date) are kept for every date, so the
  scored mart, the API and the dashboard still explain old scores.
* `raw.ingest_log` and `raw.quarantine` are the audit trail: nothing in them is deleted or deduplicated.
* Compaction is DuckDB's `CHECKPOINT`: it writes the write-ahead log into the file, compresses what was
  appended since, and marks the blocks that deleted rows and cleared contributions occupied as free.
  DuckDB reuses free blocks for new data, but it does not shorten the file: a warehouse stops growing by
  the space retention frees, it does not shrink. `rewrite=True` (`riskmart maintain --rewrite`) copies
  the whole database into a new file and swaps it in, which returns the free blocks to the disk.
* On BigQuery (a target of type bigquery) the same retention runs through the warehouse interface;
  compaction is BigQuery's own (its storage reclaims deleted rows and cleared values by itself), so there
  is no CHECKPOINT, no file size and no `--rewrite`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from ml.score import SCORES
from ml.warehouse import WAREHOUSE_CATALOG, Warehouse, connect_warehouse, open_warehouse
from riskmart.settings import Settings

STAGED_CHANGES = "riskmart_meta.staged_changes"
PRUNE_STAGED_CHANGES = ["run-operation", "prune_staged_changes"]


class MaintainError(RuntimeError):
    """Maintenance cannot run as asked; `hint` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class FileSize:
    """The warehouse file as DuckDB sees it (`pragma database_size`) and as the disk does."""

    file_bytes: int
    used_blocks: int
    free_blocks: int
    block_size: int
    wal_bytes: int

    @property
    def free_bytes(self) -> int:
        return self.free_blocks * self.block_size


@dataclass
class MaintainResult:
    staged_changes_before: int
    staged_changes_after: int
    contributions_cleared: int  # score rows whose contributions were set to NULL now
    contributions_kept_from: date | None  # the oldest score date that keeps its contributions
    before: FileSize | None  # None on BigQuery: no file
    after: FileSize | None
    rewritten: bool
    seconds: float

    def lines(self) -> list[tuple[str, str]]:
        """What was done, as (what, value) rows for the CLI and the cycle's summary."""
        kept = (
            f"kept from {self.contributions_kept_from}" if self.contributions_kept_from else "no scores yet"
        )
        return [
            (
                "staged change log",
                f"{self.staged_changes_before} → {self.staged_changes_after} rows"
                f" ({self.staged_changes_before - self.staged_changes_after} consumed by every model, deleted)",
            ),
            ("full contributions", f"{kept}; cleared on {self.contributions_cleared} older score rows"),
            self._storage_line(),
        ]

    def _storage_line(self) -> tuple[str, str]:
        if self.before is None or self.after is None:
            return ("storage", "compaction is BigQuery's own (no CHECKPOINT, no file to rewrite)")
        return (
            "warehouse file",
            f"{_mb(self.before.file_bytes)} → {_mb(self.after.file_bytes)}"
            f" ({_mb(self.after.free_bytes)} free inside, reused by new data)"
            + ("; rewritten" if self.rewritten else ""),
        )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _count(warehouse: Warehouse, relation: str) -> int:
    if warehouse.table_columns(relation) is None:
        return 0
    return int(warehouse.read(f"select count(*) as n from {relation}")["n"].iloc[0])  # noqa: S608 (our constants)


def file_size(con: duckdb.DuckDBPyConnection, path: Path) -> FileSize:
    row = con.execute(
        "select block_size, used_blocks, free_blocks, wal_size from pragma_database_size()"
        " where database_name = ?",
        [WAREHOUSE_CATALOG],
    ).fetchone()
    wal = Path(f"{path}.wal")
    return FileSize(
        file_bytes=Path(path).stat().st_size,
        used_blocks=int(row[1]),
        free_blocks=int(row[2]),
        block_size=int(row[0]),
        wal_bytes=wal.stat().st_size if wal.exists() else 0,
    )


def clear_old_contributions(warehouse: Warehouse, keep_days: int) -> tuple[int, date | None]:
    """Set `contributions` to NULL on the score rows older than the newest `keep_days` score dates (by
    feature date, not the clock: a backfill of old days keeps the same window). Returns the rows cleared
    and the oldest date that keeps its contributions. The top reasons (`ml.ml_score_reasons`) stay."""
    if warehouse.table_columns(SCORES.name) is None:
        return 0, None
    newest = warehouse.read(f"select max(feature_date) as d from {SCORES.name}")["d"].iloc[0]  # noqa: S608
    if pd.isna(newest):
        return 0, None
    kept_from = pd.Timestamp(newest).date() - timedelta(days=keep_days - 1)
    cleared = warehouse.execute(
        f"update {SCORES.name} set contributions = null"  # noqa: S608 (our constants)
        " where feature_date < ? and contributions is not null",
        [kept_from],
    )
    return int(cleared or 0), kept_from


def _file_size(path: Path, *, read_only: bool) -> FileSize:
    with connect_warehouse(path, read_only=read_only) as con:
        return file_size(con, path)


def rewrite_warehouse(path: Path) -> None:
    """Copy the whole database into a new file beside it and swap it in (one rename): the copy holds no
    free blocks. A crash before the rename leaves the old file, whole; the half copy is removed next time."""
    path = Path(path)
    fresh = path.with_name(path.name + ".rewrite")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    with connect_warehouse(path) as con:
        con.execute("attach ? as rewrite_target", [str(fresh)])
        con.execute(f"copy from database {WAREHOUSE_CATALOG} to rewrite_target")
        con.execute("detach rewrite_target")
    with fresh.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(fresh, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def maintain_warehouse(settings: Settings, *, rewrite: bool = False) -> MaintainResult:
    """Prune the staged change log, clear old contributions, CHECKPOINT (and with `rewrite`, copy the file
    anew; both DuckDB's: on BigQuery compaction is BigQuery's own). Every step is idempotent: a killed
    maintenance run re-run finishes the job. Call it holding the run lock (`riskmart maintain` and
    `riskmart run` do)."""
    from riskmart.dbt import run_dbt

    started = time.perf_counter()
    on_file = settings.engine == "duckdb"
    path = settings.warehouse
    if on_file and not Path(path).is_file():
        raise MaintainError(
            f"the warehouse {path} does not exist: there is nothing to maintain",
            "point --warehouse (or RISKMART_WAREHOUSE) at riskmart's warehouse, or run `riskmart run` first",
        )
    if rewrite and not on_file:
        raise MaintainError(
            f"--rewrite copies a DuckDB file; the target {settings.dbt_target!r} is BigQuery, whose storage"
            " compacts itself",
            "run `riskmart maintain` without --rewrite",
        )
    warehouse = open_warehouse(settings)
    before = _file_size(path, read_only=False) if on_file else None
    staged_before = _count(warehouse, STAGED_CHANGES)
    if staged_before:
        run_dbt(settings, PRUNE_STAGED_CHANGES, quiet=True)
    staged_after = _count(warehouse, STAGED_CHANGES)
    cleared, kept_from = clear_old_contributions(warehouse, settings.contributions_keep_days)
    if on_file:
        with connect_warehouse(path) as con:
            con.execute("checkpoint")
    if rewrite:
        rewrite_warehouse(path)
    after = _file_size(path, read_only=True) if on_file else None
    return MaintainResult(
        staged_changes_before=staged_before,
        staged_changes_after=staged_after,
        contributions_cleared=cleared,
        contributions_kept_from=kept_from,
        before=before,
        after=after,
        rewritten=rewrite,
        seconds=round(time.perf_counter() - started, 2),
    )
