"""What an operator can get wrong around a command that writes the warehouse, each as a clear error with
its own exit code (README, Operations): a busy, unreachable, foreign or corrupt warehouse, a full disk."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path

import duckdb

from ml.warehouse import connect_warehouse
from riskmart.runlock import WarehouseBusyError, warehouse_lock

# The schemas riskmart writes; a DuckDB file holding tables in none of them belongs to someone else.
RISKMART_SCHEMAS = ("raw", "staging", "intermediate", "marts", "seeds", "ml", "riskmart_meta")


class ExitCode(IntEnum):
    """The exit codes of `riskmart`, one per kind of failure an operator can act on."""

    OK = 0
    USAGE = 2  # an option or input is wrong (and every other reported error of a step)
    BUSY = 3  # another riskmart run holds the warehouse (or another program has the file open)
    PATH = 4  # the warehouse's folder cannot be created or written
    WAREHOUSE = 5  # the warehouse file is not a DuckDB database, is damaged, or is not riskmart's
    DISK_FULL = 6  # no space left on the device
    DBT = 7  # a dbt model or test failed
    MODEL_INTEGRITY = 8  # a registered model's files fail their checksum


class OperatorError(RuntimeError):
    def __init__(self, message: str, hint: str, code: ExitCode) -> None:
        super().__init__(message)
        self.hint = hint
        self.code = code


def check_warehouse_folder(warehouse: Path) -> None:
    """Create the warehouse's folder when missing and check this process can write in it."""
    folder = Path(warehouse).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocked = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocked} is a file, not a folder" if blocked else exc.strerror or str(exc)
        raise OperatorError(
            f"the warehouse folder {folder} cannot be created: {reason}",
            "point --warehouse (or RISKMART_WAREHOUSE) at a file in a folder this user can create and write",
            ExitCode.DISK_FULL if exc.errno == errno.ENOSPC else ExitCode.PATH,
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OperatorError(
            f"the warehouse folder {folder} is not writable by this user",
            "fix its permissions, or point --warehouse (or RISKMART_WAREHOUSE) elsewhere",
            ExitCode.PATH,
        )


def check_warehouse_file(warehouse: Path) -> None:
    """A warehouse that exists must open as DuckDB and, when it holds tables, hold riskmart's."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return
    if warehouse.is_dir():
        raise OperatorError(
            f"the warehouse {warehouse} is a folder, not a file",
            "point --warehouse (or RISKMART_WAREHOUSE) at a .duckdb file, e.g. warehouse/riskmart.duckdb",
            ExitCode.PATH,
        )
    try:
        with connect_warehouse(warehouse, read_only=True) as con:
            schemas = {
                schema
                for (schema,) in con.execute(
                    "select distinct schema_name from duckdb_tables() where database_name = current_database()"
                ).fetchall()
            }
    except duckdb.Error as exc:
        raise classify(exc, warehouse) or OperatorError(
            f"the warehouse {warehouse} cannot be opened as a DuckDB database: {_first_line(exc)}",
            "restore it from a backup, or move it away and rebuild: `riskmart backfill` from the landing files",
            ExitCode.WAREHOUSE,
        ) from None
    if schemas and not schemas & set(RISKMART_SCHEMAS):
        raise OperatorError(
            f"the warehouse {warehouse} is a DuckDB database, but not riskmart's: it holds tables in "
            f"{', '.join(sorted(schemas))} and none in riskmart's schemas ({', '.join(RISKMART_SCHEMAS)})",
            "point --warehouse (or RISKMART_WAREHOUSE) at riskmart's warehouse, or at a new file",
            ExitCode.WAREHOUSE,
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def classify(exc: BaseException, warehouse: Path) -> OperatorError | None:
    """The operator's view of an error raised while a command ran, or None when it is none of theirs."""
    text = str(exc)
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in text:
        where = getattr(exc, "filename", None) or Path(warehouse).parent
        return OperatorError(
            f"the disk is full (writing near {where}): {_first_line(exc)}",
            "free space on that device (or move the warehouse), then rerun the same command: a rerun redoes "
            "the unfinished step",
            ExitCode.DISK_FULL,
        )
    if "Could not set lock on file" in text or "Conflicting lock is held" in text:
        return OperatorError(
            f"another program has the warehouse {warehouse} open: {_first_line(exc)}",
            "close the other program (a DuckDB shell, a notebook), then rerun",
            ExitCode.BUSY,
        )
    if isinstance(exc, PermissionError | IsADirectoryError | NotADirectoryError):
        return OperatorError(
            f"a path riskmart writes cannot be written: {exc}",
            "fix the path's permissions, or point the setting that names it elsewhere",
            ExitCode.PATH,
        )
    if "not a valid DuckDB database" in text:
        return OperatorError(
            f"the warehouse {warehouse} is not a DuckDB database: {_first_line(exc)}",
            "point --warehouse (or RISKMART_WAREHOUSE) at riskmart's warehouse, or at a new file",
            ExitCode.WAREHOUSE,
        )
    return None


@contextmanager
def writing_warehouse(
    warehouse: Path,
    command: str,
    *,
    wait_seconds: float,
    notify: Callable[[str], None],
    lock_path: Path | None = None,
    on_file: bool = True,
) -> Iterator[None]:
    """The guard around a command that writes the warehouse: its folder, the run lock (`lock_path`, default
    beside the file), the file itself (`on_file`: a DuckDB warehouse; not BigQuery), and the operator's
    errors (disk full, another program holding the file) raised inside."""
    if on_file:
        check_warehouse_folder(warehouse)
    try:
        with warehouse_lock(
            warehouse, command, wait_seconds=wait_seconds, notify=notify, lock_path=lock_path
        ):
            if on_file:
                check_warehouse_file(warehouse)
            try:
                yield
            except Exception as exc:
                operator = classify(exc, warehouse)
                if operator is None:
                    raise
                raise operator from None
    except WarehouseBusyError as exc:
        raise OperatorError(
            str(exc), "wait for it to finish, or rerun with --wait (up to --wait-seconds)", ExitCode.BUSY
        ) from None
    except OSError as exc:
        operator = classify(exc, warehouse)
        if operator is None:
            raise
        raise operator from None
