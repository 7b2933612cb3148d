"""The audit log on a real file: every record lands as one JSON line, also with several writers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from api.audit import AuditLog


def test_two_workers_append_whole_lines_and_close_drains(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "api_audit.jsonl"
    logs = [AuditLog(path, flush_seconds=0.01), AuditLog(path, flush_seconds=0.01)]
    long_id = "é" * 500  # long lines, written by two processes' worth of writers at once

    def lookups(log: AuditLog, worker: int) -> None:
        for k in range(3000):
            log.record(f"key_{worker}", "lookup", [f"{worker}-{k}", long_id], None, 1)

    threads = [threading.Thread(target=lookups, args=(log, n)) for n, log in enumerate(logs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for log in logs:
        log.close()  # drains what is still pending
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 6000
    for worker in (0, 1):
        mine = [r["client_ids"][0] for r in records if r["key_id"] == f"key_{worker}"]
        assert mine == [f"{worker}-{k}" for k in range(3000)]  # one writer's records stay in order
    assert all(r["client_ids"][1] == long_id and r["ts"].endswith("Z") for r in records)
    assert logs[0].written + logs[1].written == 6000


def test_appends_to_an_existing_log(tmp_path: Path) -> None:
    path = tmp_path / "api_audit.jsonl"
    path.write_text('{"earlier": true}\n')
    log = AuditLog(path)
    log.record("key_a", "client_score", ["c1"], "2025-06-30", 1, extra_field="x")
    log.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"earlier": True}
    record = json.loads(lines[1])
    assert record["client_ids"] == ["c1"] and record["score_date"] == "2025-06-30"
    assert record["extra_field"] == "x"
