"""Every rule of the contract, one bad field at a time, and rows that break several at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from contract import CSV_TABLES
from ingest.loader import ingest_landing
from ingest.tests.landing_files import (
    EXPORT,
    Landing,
    by_file,
    client_row,
    order_row,
    payment_row,
    plan_row,
    quarantine,
    query,
    utilization_row,
)
from ingest.validation import HCPN_SPEC, key_groups

DAY_AFTER = (EXPORT + timedelta(days=1)).isoformat()
# the n-th bad row of a table (ids differ so that no row is a duplicate of another)
ROW_BUILDERS = {
    "clients": lambda n: client_row(f"X{n}"),
    "payments": lambda n: payment_row(100 + n, "C1"),
    "orders": lambda n: order_row(100 + n, "C1"),
    "utilization_monthly": lambda n: utilization_row(100 + n, "C1"),
    "payment_plans": lambda n: plan_row(100 + n, "C1"),
}

CASES = [
    # (table, field overrides, expected rules)
    ("clients", {"client_id": ""}, ["client_id:required"]),
    ("clients", {"registration_date": ""}, ["registration_date:required"]),
    ("clients", {"registration_date": "2025-02-30"}, ["registration_date:type_date"]),
    ("clients", {"registration_date": "31/01/2025"}, ["registration_date:type_date"]),
    ("clients", {"registration_date": DAY_AFTER}, ["registration_date:not_after_file_date"]),
    ("clients", {"current_credit_limit": "-1"}, ["current_credit_limit:at_least_0"]),
    ("clients", {"current_credit_limit": "1.000,50"}, ["current_credit_limit:type_double"]),
    ("clients", {"current_outstanding": "inf"}, ["current_outstanding:type_double"]),
    ("clients", {"current_outstanding": "NaN"}, ["current_outstanding:type_double"]),
    ("clients", {"account_status": "Active"}, ["account_status:accepted_values"]),
    ("clients", {"created_at": "2025-01-01 25:00:00"}, ["created_at:type_timestamp"]),
    ("clients", {"updated_at": "2025-01-01 10:00:00+05:00"}, ["updated_at:type_timestamp"]),
    ("payments", {"payment_id": ""}, ["payment_id:required"]),
    ("payments", {"payment_id": "1.5"}, ["payment_id:type_integer"]),
    ("payments", {"payment_id": "0x1F"}, ["payment_id:type_integer"]),
    ("payments", {"client_id": ""}, ["client_id:required"]),
    ("payments", {"client_id": "C404"}, ["client_id:client_exists"]),
    ("payments", {"invoice_id": ""}, ["invoice_id:required"]),
    ("payments", {"payment_date": DAY_AFTER}, ["payment_date:not_after_file_date"]),
    ("payments", {"due_date": ""}, ["due_date:required"]),
    ("payments", {"payment_amount": "0"}, ["payment_amount:greater_than_0"]),
    ("payments", {"payment_amount": "-10.5"}, ["payment_amount:greater_than_0"]),
    ("payments", {"payment_amount": "ten"}, ["payment_amount:type_double"]),
    ("payments", {"days_past_due": "3 days"}, ["days_past_due:type_integer"]),
    ("orders", {"order_date": DAY_AFTER}, ["order_date:not_after_file_date"]),
    ("orders", {"order_value": "0"}, ["order_value:greater_than_0"]),
    ("orders", {"order_status": "shipped"}, ["order_status:accepted_values"]),
    ("orders", {"due_date": "2025-03-01"}, ["due_date:not_before_order_date"]),
    ("orders", {"client_id": "C404"}, ["client_id:client_exists"]),
    ("utilization_monthly", {"id": ""}, ["id:required"]),
    ("utilization_monthly", {"avg_outstanding": "-1", "max_outstanding": "-2"}, None),
    ("utilization_monthly", {"max_outstanding": "999999"}, ["max_outstanding:at_least_avg_outstanding"]),
    ("utilization_monthly", {"credit_limit": "-5"}, ["credit_limit:at_least_0"]),
    ("utilization_monthly", {"utilization_pct": "-0.1"}, ["utilization_pct:at_least_0"]),
    ("utilization_monthly", {"month": "2025-13-01"}, ["month:type_date"]),
    ("payment_plans", {"plan_end_date": "2025-03-01"}, ["plan_end_date:not_before_plan_start_date"]),
    ("payment_plans", {"original_amount": "0"}, ["original_amount:greater_than_0"]),
    ("payment_plans", {"plan_status": "paused"}, ["plan_status:accepted_values"]),
    ("payment_plans", {"completion_date": "soon"}, ["completion_date:type_date"]),
    ("payment_plans", {"client_id": "C404"}, ["client_id:client_exists"]),
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One landing holding every case: one good row and the bad row of each case per table file."""
    root = tmp_path_factory.mktemp("rules")
    landing = Landing(root / "landing")
    rows: dict[str, list[dict[str, str]]] = {
        "clients": [client_row("C1")],
        "payments": [payment_row(1, "C1")],
        "orders": [order_row(1, "C1")],
        "utilization_monthly": [utilization_row(1, "C1")],
        "payment_plans": [plan_row(1, "C1")],
    }
    for table, overrides, _ in CASES:
        rows[table].append(ROW_BUILDERS[table](len(rows[table])) | overrides)
    for table, table_rows in rows.items():
        landing.csv(table, table_rows)
    warehouse = root / "riskmart.duckdb"
    ingest_landing(landing.root, warehouse)
    return warehouse


@pytest.mark.parametrize(
    ("table", "overrides", "expected"), CASES, ids=[f"{c[0]}-{list(c[1].items())}" for c in CASES]
)
def test_each_bad_field_is_quarantined_with_its_rule(
    loaded: Path, table: str, overrides: dict, expected: list[str] | None
) -> None:
    line = 3 + [i for i, case in enumerate(c for c in CASES if c[0] == table) if case[1] == overrides][0]
    rows = [r for r in quarantine(loaded) if r["table_name"] == table and r["line_number"] == line]
    assert len(rows) == 1, f"line {line} of {table} was not quarantined"
    record = rows[0]["record"]
    for column, value in overrides.items():
        assert record[column] == (value if value != "" else None)
    if expected is None:  # avg < 0 and max < 0 and max < avg: every broken rule is listed
        expected = [
            "avg_outstanding:at_least_0",
            "max_outstanding:at_least_0",
            "max_outstanding:at_least_avg_outstanding",
        ]
    assert rows[0]["rules_broken"] == expected


def test_good_rows_load_and_counts_reconcile(loaded: Path) -> None:
    log = {r["table_name"]: r for r in query(loaded, "SELECT * FROM raw.ingest_log")}
    for table in ROW_BUILDERS:
        bad = sum(1 for c in CASES if c[0] == table)
        assert (log[table]["rows_read"], log[table]["rows_loaded"], log[table]["rows_rejected"]) == (
            1 + bad,
            1,
            bad,
        )
        assert log[table]["status"] == "loaded_with_rejects"
        assert query(loaded, f"SELECT count(*) AS n FROM raw.{table}") == [{"n": 1}]


def test_a_row_breaking_several_rules_lists_all_of_them(tmp_path: Path) -> None:
    landing = Landing(tmp_path / "landing")
    landing.csv("clients", [client_row("C1")])
    landing.csv(
        "payments",
        [payment_row(1, "C404", payment_id="x", invoice_id="", payment_date=DAY_AFTER, payment_amount="-3")],
    )

    ingest_landing(landing.root, tmp_path / "w.duckdb")

    (row,) = quarantine(tmp_path / "w.duckdb")
    assert row["rules_broken"] == [
        "client_id:client_exists",
        "invoice_id:required",
        "payment_amount:greater_than_0",
        "payment_date:not_after_file_date",
        "payment_id:type_integer",
    ]


def test_boundaries_pass(tmp_path: Path) -> None:
    """Equal dates and zero balances are allowed; strict forms with spaces, signs and exponents parse."""
    landing = Landing(tmp_path / "landing")
    landing.csv(
        "clients",
        [
            client_row(
                "C1",
                registration_date=EXPORT.isoformat(),
                current_outstanding="0",
                updated_at="2025-03-31T08:00:00Z",
            )
        ],
    )
    landing.csv(
        "payments",
        [
            payment_row(1, "C1", payment_date=EXPORT.isoformat(), payment_amount=" 1.5e3 "),
            payment_row(2, "C1", payment_id="+0007", created_at="2025-03-30T14:30:00.123+00:00"),
        ],
    )
    landing.csv("orders", [order_row(1, "C1", due_date=(EXPORT - timedelta(days=2)).isoformat())])
    landing.csv("utilization_monthly", [utilization_row(1, "C1", max_outstanding="1000000")])
    landing.csv("payment_plans", [plan_row(1, "C1", plan_end_date=(EXPORT - timedelta(days=10)).isoformat())])

    result = ingest_landing(landing.root, tmp_path / "w.duckdb")

    assert quarantine(tmp_path / "w.duckdb") == []
    assert {f["status"] for f in result.files} == {"loaded"}
    assert query(tmp_path / "w.duckdb", "SELECT payment_id, payment_amount FROM raw.payments ORDER BY 1") == [
        {"payment_id": 1, "payment_amount": 1500.0},
        {"payment_id": 7, "payment_amount": 150000.0},
    ]


def test_duplicate_client_ids_in_one_file_reject_every_copy(tmp_path: Path) -> None:
    landing = Landing(tmp_path / "landing")
    rows = [client_row("C1"), client_row("C2"), client_row("C1", client_name="Other"), client_row("C3")]
    # two rows without an id are missing an id, not duplicates of each other
    landing.csv("clients", [*rows, client_row("", client_name="A"), client_row("", client_name="B")])
    # the same id in another day's file is a snapshot, not a duplicate
    landing.csv("clients", [client_row("C1"), client_row("C2")], export=EXPORT - timedelta(days=1))

    ingest_landing(landing.root, tmp_path / "w.duckdb")

    rows = quarantine(tmp_path / "w.duckdb")
    assert [(r["line_number"], r["record"]["client_id"], r["rules_broken"]) for r in rows] == [
        (2, "C1", ["client_id:unique_within_file"]),
        (4, "C1", ["client_id:unique_within_file"]),
        (6, None, ["client_id:required"]),
        (7, None, ["client_id:required"]),
    ]
    loaded = query(tmp_path / "w.duckdb", "SELECT _export_date, client_id FROM raw.clients ORDER BY 1, 2")
    assert [(r["_export_date"], r["client_id"]) for r in loaded] == [
        (EXPORT - timedelta(days=1), "C1"),
        (EXPORT - timedelta(days=1), "C2"),
        (EXPORT, "C2"),
        (EXPORT, "C3"),
    ]


def test_client_exists_counts_clients_from_earlier_runs_and_this_run(tmp_path: Path) -> None:
    landing = Landing(tmp_path / "landing")
    warehouse = tmp_path / "w.duckdb"
    landing.csv("clients", [client_row("C1")], export=EXPORT - timedelta(days=5))
    ingest_landing(landing.root, warehouse)
    # C2 arrives in the same run as its payment, in a file discovered after the payments file's name
    landing.csv("clients", [client_row("C2")], export=EXPORT)
    landing.csv("payments", [payment_row(1, "C1"), payment_row(2, "C2"), payment_row(3, "C3")])

    result = ingest_landing(landing.root, warehouse)

    assert by_file(result.files)["payments/payments_2025-03-31.csv"]["rows_rejected"] == 1
    (row,) = quarantine(warehouse)
    assert (row["record"]["client_id"], row["rules_broken"]) == ("C3", ["client_id:client_exists"])


def test_a_client_whose_only_rows_are_rejected_does_not_exist(tmp_path: Path) -> None:
    landing = Landing(tmp_path / "landing")
    landing.csv("clients", [client_row("C1", account_status="unknown")])
    landing.csv("payments", [payment_row(1, "C1")])

    ingest_landing(landing.root, tmp_path / "w.duckdb")

    rules = {r["table_name"]: r["rules_broken"] for r in quarantine(tmp_path / "w.duckdb")}
    assert rules == {"clients": ["account_status:accepted_values"], "payments": ["client_id:client_exists"]}


def test_every_contract_rule_has_an_expectation() -> None:
    """The suites are built from contract/__init__.py: each declared rule yields a named check."""
    for spec in (*CSV_TABLES, HCPN_SPEC):
        rules = {check.rule for group in key_groups(spec, "known_clients") for check in group.checks}
        for col in spec.columns:
            if col.required:
                assert f"{col.name}:required" in rules
            if col.type != "VARCHAR":
                assert any(r.startswith(f"{col.name}:type_") for r in rules)
            if col.accepted_values:
                assert f"{col.name}:accepted_values" in rules
            if col.not_after_file_date:
                assert f"{col.name}:not_after_file_date" in rules
            if col.min_value is not None:
                assert any(r.startswith(f"{col.name}:") and "_0" in r for r in rules), col.name
        for a, b in spec.ordered_pairs:
            assert any(r.startswith(f"{a}:") and r.endswith(f"_{b}") for r in rules)
        assert ("client_id:client_exists" in rules) == spec.client_must_exist
