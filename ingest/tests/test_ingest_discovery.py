"""Discovery: what a delivery is, and an order that depends on names and contents only."""

from __future__ import annotations

import os
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
