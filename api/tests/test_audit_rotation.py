"""The audit log's rotation on real files: by day and by size, with one writer and with two at once;
no record is ever lost or split, and rotated files are kept."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.audit import AuditLog
from api.settings import ApiSettings

DAY = 86_400


def _records(folder: Path) -> dict[str, list[dict]]:
    """Every audit file in `folder` (the live one and the rotated ones) with its records."""
    return {
        path.name: [json.loads(line) for line in path.read_text().splitlines()]
        for path in sorted(folder.glob("api_audit.jsonl*"))
        if not path.name.endswith(".lock")
    }


def test_daily_rotation_moves_yesterdays_file_aside_before_todays_first_write(tmp_path: Path) -> None:
    path = tmp_path / "api_audit.jsonl"
    path.write_text('{"yesterday": 1}\n{"yesterday": 2}\n')
    yesterday = time.time() - DAY
    os.utime(path, (yesterday, yesterday))
    log = AuditLog(path, rotate="daily")
    log.record("key_a", "client_score", ["c1"], "2026-06-30", 1)
    log.record("key_a", "client_score", ["c2"], "2026-06-30", 1)
    log.close()
    day = time.strftime("%Y-%m-%d", time.gmtime(yesterday))
    files = _records(tmp_path)
    assert sorted(files) == ["api_audit.jsonl", f"api_audit.jsonl.{day}"]
    assert files[f"api_audit.jsonl.{day}"] == [{"yesterday": 1}, {"yesterday": 2}]
    assert [r["client_ids"] for r in files["api_audit.jsonl"]] == [["c1"], ["c2"]]
    assert log.rotations == 1


def test_daily_rotation_leaves_a_file_of_today_alone(tmp_path: Path) -> None:
    path = tmp_path / "api_audit.jsonl"
    path.write_text('{"today": 1}\n')
    log = AuditLog(path, rotate="daily")
    log.record("key_a", "lookup", ["c1"])
    log.close()
    assert list(_records(tmp_path)) == ["api_audit.jsonl"]
    assert len(_records(tmp_path)["api_audit.jsonl"]) == 2


def test_size_rotation_keeps_every_file_under_the_limit_and_every_record(tmp_path: Path) -> None:
    path = tmp_path / "api_audit.jsonl"
    limit = 2000
    # the writer thread never wakes on its own: each flush() below is one write, so file sizes are exact
    log = AuditLog(path, flush_seconds=3600, rotate="size", max_bytes=limit)
    for batch in range(30):
        for k in range(8):
            log.record("key_a", "lookup", [f"{batch}-{k}"], None, 1)
        log.flush()
    log.close()
    files = _records(tmp_path)
    assert len(files) >= 10, f"expected many rotations of a {limit}-byte log, got {sorted(files)}"
    for name in files:
        assert (tmp_path / name).stat().st_size <= limit, f"{name} is over the limit"
    # rotated names sort in time order, the live file last: read in that order, the records are in order
    rotated = sorted(name for name in files if name != "api_audit.jsonl")
    ids = [r["client_ids"][0] for name in [*rotated, "api_audit.jsonl"] for r in files[name]]
    assert ids == [f"{batch}-{k}" for batch in range(30) for k in range(8)]
    assert log.rotations == len(rotated)


def test_two_workers_rotating_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "api_audit.jsonl"
    logs = [AuditLog(path, flush_seconds=0.005, rotate="size", max_bytes=20_000) for _ in range(2)]

    def lookups(log: AuditLog, worker: int) -> None:
        for k in range(2000):
            log.record(f"key_{worker}", "lookup", [f"{worker}-{k}"], None, 1)
            if k % 50 == 0:
                time.sleep(0.002)  # let the writers flush (and rotate) many times along the way

    threads = [threading.Thread(target=lookups, args=(log, n)) for n, log in enumerate(logs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for log in logs:
        log.close()
    files = _records(tmp_path)
    assert len(files) > 3
    everything = [r for records in files.values() for r in records]
    assert len(everything) == 4000
    for worker in (0, 1):
        mine = sorted(
            int(r["client_ids"][0].split("-")[1]) for r in everything if r["key_id"] == f"key_{worker}"
        )
        assert mine == list(range(2000))


def test_rotation_settings_are_checked() -> None:
    with pytest.raises(ValidationError):
        ApiSettings(audit_log_rotate="weekly")
    with pytest.raises(ValidationError):
        ApiSettings(audit_log_max_bytes=10)
    assert ApiSettings().audit_log_rotate == "daily"
