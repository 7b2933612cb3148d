"""The run lock: one riskmart command at a time writes a warehouse.

A file beside the warehouse (`<warehouse>.lock`) is locked with flock(2) for the whole command and holds
the holder's pid, start time and command. The kernel drops the lock when its process dies, however it
dies, so a killed run never blocks the next one; the metadata it leaves behind tells the next run that
it takes over from a run that did not finish.

On BigQuery there is no warehouse file: the lock is a local file `riskmart-bigquery-<project>.lock` in
RISKMART_LOCK_DIR (default: the folder holding the model registry, which every run writes anyway). flock
serializes the runs of one machine, or of machines sharing that folder on a file system whose locks span
them; a scheduler that can start runs elsewhere must run them one at a time itself (the Airflow DAG's
`max_active_runs=1`).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    started_at: str | None
    command: str | None

    def describe(self) -> str:
        return f"pid {self.pid or '?'}, started {self.started_at or '?'}, command {self.command or '?'}"


class WarehouseBusyError(RuntimeError):
    """Another riskmart command holds the warehouse's run lock."""

    def __init__(self, lock_path: Path, holder: LockHolder, waited: float) -> None:
        self.lock_path = lock_path
        self.holder = holder
        self.waited = waited
        waited_text = f" after waiting {waited:.0f} s" if waited else ""
        super().__init__(
            f"another riskmart run ({holder.describe()}) holds the warehouse{waited_text} (lock {lock_path})"
        )


def lock_path_for(warehouse: Path) -> Path:
    return Path(warehouse).with_name(Path(warehouse).name + ".lock")


def run_lock_path(settings) -> Path:
    """The run lock of the settings' warehouse: `<warehouse>.lock` beside a DuckDB file; on BigQuery a file
    named after the project in settings.lock_dir (default: the registry's parent folder)."""
    if settings.engine == "duckdb":
        return lock_path_for(settings.warehouse)
    folder = settings.lock_dir if settings.lock_dir is not None else Path(settings.registry_path).parent
    return Path(folder) / f"riskmart-bigquery-{settings.bq_project}.lock"


def _read_holder(fd: int) -> LockHolder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 65536).decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
        return LockHolder(data.get("pid"), data.get("started_at"), data.get("command"))
    except (ValueError, AttributeError):
        return LockHolder(None, None, f"unreadable lock metadata {text[:80]!r}")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def warehouse_lock(
    warehouse: Path,
    command: str,
    *,
    wait_seconds: float = 0.0,
    notify: Callable[[str], None] = lambda message: None,
    lock_path: Path | None = None,
) -> Iterator[Path]:
    """Hold the warehouse's run lock (`lock_path`, default `<warehouse>.lock`) for the block. Waits up to
    `wait_seconds` for another holder, then raises WarehouseBusyError naming it. `notify` hears about
    waiting and about a stale lock taken over."""
    lock_path = lock_path or lock_path_for(warehouse)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = time.monotonic()
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd) or LockHolder(None, None, None)
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    raise WarehouseBusyError(lock_path, holder, waited) from None
                if not announced:
                    notify(
                        f"waiting up to {wait_seconds:.0f} s for another riskmart run ({holder.describe()})"
                    )
                    announced = True
                time.sleep(min(POLL_SECONDS, max(wait_seconds - waited, 0.01)))
        previous = _read_holder(fd)
        if previous is not None and previous.pid != os.getpid():
            # The lock was free, yet its metadata is there: that run ended without releasing it (killed).
            gone = "is gone" if not pid_alive(previous.pid) else "no longer holds it"
            notify(
                f"taking over a stale run lock: the run ({previous.describe()}) {gone} without finishing;"
                " this run redoes its work"
            )
        record = {
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode())
        os.fsync(fd)
        try:
            yield lock_path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
