"""Discovery: what a delivery is, and an order that depends on names and contents only."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path

import pytest

from ingest.discovery import classify, delivery_id, discover


def write(root: Path, relpath: str, content: bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        ("payments/payments_2025-03-31.csv", ("payments", date(2025, 3, 31), None, None)),
        ("hcpn/hcpn_CL_0_7.json", ("hcpn_reports", None, "CL_0_7", None)),
        ("hcpn/hcpn_.json", ("hcpn_reports", None, None, "does not match hcpn_<client_id>.json")),
        ("clients/clients_2025-3-31.csv", ("clients", None, None, "does not match clients_YYYY-MM-DD.csv")),
        ("clients/Clients_2025-03-31.CSV", ("clients", None, None, "does not match clients_YYYY-MM-DD.csv")),
    ],
)
def test_classify(relpath: str, expected: tuple) -> None:
    table, export_date, client_id, problem = classify(relpath)
    assert (table, export_date, client_id) == expected[:3]
    assert (problem is None) if expected[3] is None else (expected[3] in problem)


def test_order_depends_on_names_and_contents_not_on_creation_order(tmp_path: Path) -> None:
    names = [
        "hcpn/hcpn_9.json",
        "payments/payments_2025-03-02.csv",
        "clients/clients_2025-03-02.csv",
        "payments/payments_2025-03-01.csv",
        "clients/clients_2025-03-01.csv",
        "orders/orders_2025-03-01.csv",
    ]
    for order, root in ((names, tmp_path / "a"), (names[::-1], tmp_path / "b")):
        for name in order:
            write(root, name, name.encode())

    first = [(d.relpath, d.file_id) for d in discover(tmp_path / "a")]

    assert first == [(d.relpath, d.file_id) for d in discover(tmp_path / "b")]
    assert [r for r, _ in first] == [
        "clients/clients_2025-03-01.csv",
        "clients/clients_2025-03-02.csv",
        "payments/payments_2025-03-01.csv",
        "payments/payments_2025-03-02.csv",
        "orders/orders_2025-03-01.csv",
        "hcpn/hcpn_9.json",
    ]


def test_a_delivery_is_its_path_and_content(tmp_path: Path) -> None:
    path = write(tmp_path, "clients/clients_2025-03-01.csv", b"client_id\n1\n")
    (before,) = discover(tmp_path)
    os.utime(path, ns=(1, 1))
    (touched,) = discover(tmp_path)
    path.write_bytes(b"client_id\n2\n")
    (changed,) = discover(tmp_path)

    assert touched.file_id == before.file_id
    assert changed.file_id != before.file_id
    assert before.file_id == delivery_id("clients/clients_2025-03-01.csv", before.content_hash)
    assert not before.unchanged_on_disk()  # rewritten since it was hashed: not that delivery any more
    assert changed.unchanged_on_disk()


def test_lines_are_counted_with_or_without_a_final_line_break(tmp_path: Path) -> None:
    write(tmp_path, "clients/clients_2025-03-01.csv", b"a\r\nb\r\nc")
    write(tmp_path, "clients/clients_2025-03-02.csv", b"a\nb\n")
    write(tmp_path, "clients/clients_2025-03-03.csv", b"")

    assert [d.lines for d in discover(tmp_path)] == [3, 2, 0]


# the hash cache: a file the cache knows as it is (size, time) is not read again --------------------------

HOUR_NS = 3600 * 1_000_000_000


def _age(path: Path, ns: int) -> None:
    os.utime(path, ns=(ns, ns))


def test_the_hash_cache_reads_a_file_again_only_when_its_size_or_time_changed(tmp_path: Path) -> None:
    landing, cache = tmp_path / "landing", tmp_path / "warehouse" / "landing_hashes.json"
    path = write(landing, "clients/clients_2025-03-01.csv", b"client_id\n1\n")
    old = time.time_ns() - HOUR_NS
    _age(path, old)
    (first,) = discover(landing, hash_cache=cache)
    assert first.content_hash == discover(landing)[0].content_hash and cache.is_file()

    # the same size and time, other bytes (what no producer's rewrite does): not read, so the cached hash
    path.write_bytes(b"client_id\n2\n")
    _age(path, old)
    (cached,) = discover(landing, hash_cache=cache)
    (read,) = discover(landing)
    assert cached.file_id == first.file_id and read.file_id != first.file_id

    # a new time (any rewrite, a touch) or a new size: read again
    _age(path, old + 1)
    assert discover(landing, hash_cache=cache)[0].content_hash == read.content_hash
    path.write_bytes(b"client_id\n10\n")
    _age(path, old + 1)
    (grown,) = discover(landing, hash_cache=cache)
    assert grown.content_hash == discover(landing)[0].content_hash != read.content_hash
    assert grown.lines == 2


def test_the_hash_cache_does_not_trust_a_time_as_recent_as_the_read(tmp_path: Path) -> None:
    """A file modified within RACY_SECONDS of its read may be rewritten in the same clock tick keeping its
    time (coarse file system clocks): such a file is read again."""
    landing, cache = tmp_path / "landing", tmp_path / "landing_hashes.json"
    path = write(landing, "clients/clients_2025-03-01.csv", b"client_id\n1\n")
    now = time.time_ns()
    _age(path, now)
    discover(landing, hash_cache=cache)
    path.write_bytes(b"client_id\n2\n")
    _age(path, now)
    assert discover(landing, hash_cache=cache)[0].content_hash == discover(landing)[0].content_hash


def test_a_corrupt_cache_is_an_empty_one_and_files_gone_leave_it(tmp_path: Path) -> None:
    landing, cache = tmp_path / "landing", tmp_path / "landing_hashes.json"
    kept = write(landing, "clients/clients_2025-03-01.csv", b"client_id\n1\n")
    gone = write(landing, "clients/clients_2025-03-02.csv", b"client_id\n1\n")
    cache.write_text('{"format": 1, "files": {', encoding="utf-8")  # a torn write
    assert len(discover(landing, hash_cache=cache)) == 2
    gone.unlink()
    discover(landing, hash_cache=cache)
    assert list(json.loads(cache.read_text(encoding="utf-8"))["files"]) == [str(kept)]
