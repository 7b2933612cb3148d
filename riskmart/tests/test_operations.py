"""What an operator can get wrong ends in `error: / what to do:` and its own exit code, never a traceback:
the run lock held by another process (two real processes), a stale lock, unreachable paths, a foreign or
damaged warehouse, a failing dbt node, a model failing its checksum, a full disk."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from riskmart.cli import app
from riskmart.operations import ExitCode
from riskmart.runlock import lock_path_for

RISKMART = [sys.executable, "-m", "riskmart.cli"]


def _riskmart(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*RISKMART, *args], capture_output=True, text=True, timeout=timeout)


def _assert_clear_error(result: subprocess.CompletedProcess, code: ExitCode, *phrases: str) -> None:
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == code, output
    assert "error:" in output and "what to do:" in output, output
    assert "Traceback" not in output, output
    for phrase in phrases:
        assert phrase in output, f"{phrase!r} not in {output}"


def _hold_lock(warehouse: Path, command: str = "riskmart run --as-of 2026-06-30") -> subprocess.Popen:
    """A second real process that takes the run lock, says so, and sleeps holding it."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from riskmart.runlock import warehouse_lock
        with warehouse_lock(Path({str(warehouse)!r}), {command!r}):
            print("locked", flush=True)
            time.sleep(600)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.fixture
def empty_landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    landing.mkdir()
    return landing


def test_a_second_writer_is_refused_naming_the_holder_then_waits_with_wait(tmp_path, empty_landing):
    warehouse = tmp_path / "wh" / "riskmart.duckdb"
    warehouse.parent.mkdir()
    holder = _hold_lock(warehouse)
    try:
        refused = _riskmart("ingest", "--landing", str(empty_landing), "--warehouse", str(warehouse))
        _assert_clear_error(
            refused,
            ExitCode.BUSY,
            f"another riskmart run (pid {holder.pid}, started",
            "command riskmart run --as-of 2026-06-30",
            "--wait",
        )
        # the same for every verb that writes, e.g. build and score
        for verb in (["build"], ["score", "--date", "2026-06-30"]):
            _assert_clear_error(
                _riskmart(*verb, "--warehouse", str(warehouse)), ExitCode.BUSY, "holds the warehouse"
            )

        waiting = subprocess.Popen(
            [*RISKMART, "ingest", "--landing", str(empty_landing), "--warehouse", str(warehouse), "--wait"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # the holder goes only once the waiter says it waits (its start-up takes seconds under load; a holder
        # gone before the waiter looks leaves a stale lock, which is another test)
        lines: list[str] = []
        said_it_waits = threading.Event()

        def read() -> None:
            for line in waiting.stdout:
                lines.append(line)
                if "waiting up to" in line:
                    said_it_waits.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert said_it_waits.wait(timeout=120), "".join(lines)
        time.sleep(0.5)
        assert waiting.poll() is None, "--wait waits while the lock is held"
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    waiting.wait(timeout=120)
    reader.join(timeout=30)
    output = "".join(lines)
    assert waiting.returncode == 0, output
    assert "waiting up to" in output, output


def test_wait_gives_up_after_wait_seconds(tmp_path, empty_landing):
    warehouse = tmp_path / "riskmart.duckdb"
    holder = _hold_lock(warehouse)
    try:
        started = time.monotonic()
        result = _riskmart(
            "ingest",
            "--landing",
            str(empty_landing),
            "--warehouse",
            str(warehouse),
            "--wait",
            "--wait-seconds",
            "2",
        )
        assert time.monotonic() - started >= 2
        _assert_clear_error(result, ExitCode.BUSY, "after waiting 2 s")
    finally:
        holder.terminate()
        holder.wait(timeout=30)


def test_a_stale_lock_of_a_killed_run_is_taken_over_with_a_message(tmp_path, empty_landing):
    warehouse = tmp_path / "riskmart.duckdb"
    holder = _hold_lock(warehouse)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert str(holder.pid) in lock_path_for(warehouse).read_text(), "a killed run leaves its metadata behind"
    result = _riskmart("ingest", "--landing", str(empty_landing), "--warehouse", str(warehouse))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, output
    assert f"taking over a stale run lock: the run (pid {holder.pid}" in output and "is gone" in output
    assert lock_path_for(warehouse).read_text() == "", "a finished run leaves the lock file empty"


@pytest.mark.parametrize("verb", [["ingest"], ["run"], ["build"], ["train"], ["score"]])
def test_a_warehouse_folder_that_cannot_be_created(tmp_path, empty_landing, verb):
    (tmp_path / "a_file").write_text("not a folder")
    warehouse = tmp_path / "a_file" / "warehouse" / "riskmart.duckdb"
    args = [*verb, "--warehouse", str(warehouse)]
    if verb[0] in {"ingest", "run"}:
        args += ["--landing", str(empty_landing)]
    result = CliRunner().invoke(app, args)
    output = " ".join(result.output.split())
    assert result.exit_code == ExitCode.PATH, output
    assert "is a file, not a folder" in output and "what to do:" in output


def test_a_file_that_is_not_duckdb_is_refused(tmp_path, empty_landing):
    warehouse = tmp_path / "riskmart.duckdb"
    warehouse.write_bytes(b"id,name\n1,not a database\n" * 100)
    before = warehouse.read_bytes()
    result = _riskmart("ingest", "--landing", str(empty_landing), "--warehouse", str(warehouse))
    _assert_clear_error(result, ExitCode.WAREHOUSE, "is not a DuckDB database")
    assert warehouse.read_bytes() == before, "nothing written to someone else's file"


def test_a_damaged_duckdb_file_is_refused(tmp_path, empty_landing):
    warehouse = tmp_path / "riskmart.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw; create table raw.clients as select range as id from range(100000)")
    data = bytearray(warehouse.read_bytes())
    data[4096:12288] = os.urandom(8192)  # the database headers
    warehouse.write_bytes(bytes(data))
    result = _riskmart("run", "--landing", str(empty_landing), "--warehouse", str(warehouse))
    _assert_clear_error(result, ExitCode.WAREHOUSE, str(warehouse))


def test_a_foreign_duckdb_file_is_refused(tmp_path, empty_landing):
    warehouse = tmp_path / "shop.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table orders as select 1 as order_id")
    result = _riskmart("run", "--landing", str(empty_landing), "--warehouse", str(warehouse))
    _assert_clear_error(result, ExitCode.WAREHOUSE, "not riskmart's", "main")


def test_a_dbt_failure_names_the_node_and_the_log(tmp_path):
    # a staging model built before anything was ingested: its source table does not exist
    warehouse = tmp_path / "riskmart.duckdb"
    result = _riskmart("build", "--select", "stg_lender__clients", "--warehouse", str(warehouse))
    _assert_clear_error(
        result, ExitCode.DBT, "stg_lender__clients", f"dbt's log: {tmp_path / 'dbt' / 'logs' / 'dbt.log'}"
    )


@pytest.mark.slow
def test_a_model_failing_its_checksum_is_refused(demo_cycle, tmp_path):
    copy = tmp_path / "warehouse"
    shutil.copytree(demo_cycle.settings.warehouse.parent, copy)
    version = demo_cycle.summary.model_version
    model_file = copy / "models" / version / "model.json"
    model_file.write_bytes(model_file.read_bytes() + b"\n")  # still a valid model, not the registered one
    result = _riskmart(
        "score",
        "--warehouse",
        str(copy / demo_cycle.settings.warehouse.name),
        "--date",
        demo_cycle.as_of.isoformat(),
    )
    _assert_clear_error(result, ExitCode.MODEL_INTEGRITY, version, "differs from the registered model file")


@pytest.mark.slow
def test_a_full_disk_is_reported(demo_cycle, tmp_path):
    """Every command that writes the warehouse or the bundles (run, backfill, publish, ...) holds it through
    cli.holding_warehouse, which turns ENOSPC into the disk-full error; shown here on `riskmart publish`, the
    daily cycle's publishing step on its own."""
    copy = tmp_path / "warehouse"
    shutil.copytree(demo_cycle.settings.warehouse.parent, copy)
    # /dev/full answers every write with ENOSPC: the CURRENT pointer the publisher writes last lands there
    (copy / "published" / ".CURRENT.tmp").symlink_to("/dev/full")
    result = _riskmart("publish", "--warehouse", str(copy / demo_cycle.settings.warehouse.name))
    _assert_clear_error(result, ExitCode.DISK_FULL, "the disk is full")
