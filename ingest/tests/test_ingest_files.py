"""Files as other producers write them: encodings, line ends, quoting, headers, broken files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.loader import ingest_landing, read_ingest_log
from ingest.tests.landing_files import (
    EXPORT,
    Landing,
    bureau_report,
    by_file,
    client_row,
    csv_bytes,
    payment_row,
    quarantine,
    query,
)

CLIENT_HEADER = list(client_row("1"))
PAYMENT_HEADER = list(payment_row(1, "1"))


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "riskmart.duckdb"


def test_bom_crlf_quoted_commas_and_leading_zeros_load_verbatim(landing: Landing, warehouse: Path) -> None:
    rows = [client_row("007", client_name='Ferretería "El Tornillo", Ltda.'), client_row("0100")]
    relpath = landing.csv("clients", rows, bom=True, crlf=True)

    result = ingest_landing(landing.root, warehouse)

    assert by_file(result.files)[relpath]["status"] == "loaded"
    loaded = query(warehouse, "SELECT client_id, client_name, _line_number FROM raw.clients ORDER BY 3")
    assert loaded == [
        {"client_id": "007", "client_name": 'Ferretería "El Tornillo", Ltda.', "_line_number": 2},
        {"client_id": "0100", "client_name": "Comercial 0100, S.A.S.", "_line_number": 3},
    ]


def test_reordered_and_extra_columns_are_matched_by_name_and_extras_dropped(
    landing: Landing, warehouse: Path
) -> None:
    header = ["Updated_At", "client_id", "notes", *CLIENT_HEADER[1:-1], "", "Client Segment"]
    row = client_row("42")
    values = [
        row["updated_at"],
        "42",
        "call before noon, please",
        *(row[c] for c in CLIENT_HEADER[1:-1]),
        "x",
        "SME",
    ]
    relpath = landing.csv("clients", [values], header=header)

    result = ingest_landing(landing.root, warehouse)

    assert by_file(result.files)[relpath]["status"] == "loaded"
    columns = [r["column_name"] for r in query(warehouse, "DESCRIBE raw.clients")]
    assert "notes" not in columns and "Client Segment" not in columns
    loaded = query(warehouse, "SELECT client_id, updated_at, account_status FROM raw.clients")
    assert loaded == [{"client_id": "42", "updated_at": loaded[0]["updated_at"], "account_status": "active"}]
    assert loaded[0]["updated_at"].isoformat(sep=" ") == row["updated_at"]


def test_empty_fields_are_null_and_optional_columns_may_be_absent(landing: Landing, warehouse: Path) -> None:
    header = ["client_id", "registration_date", "current_outstanding", "account_status"]
    landing.csv("clients", [["1", "2024-01-01", "", ""]], header=header)

    ingest_landing(landing.root, warehouse)

    loaded = query(
        warehouse, "SELECT client_name, current_outstanding, account_status, industry FROM raw.clients"
    )
    assert loaded == [
        {"client_name": None, "current_outstanding": None, "account_status": None, "industry": None}
    ]


def test_header_only_file_loads_zero_rows(landing: Landing, warehouse: Path) -> None:
    relpath = landing.csv("clients", [])

    result = ingest_landing(landing.root, warehouse)

    entry = by_file(result.files)[relpath]
    assert (entry["status"], entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (
        "loaded",
        0,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "NUL bytes"),
        ("client_id,registration_date\n1,2024-01-01\n".encode("utf-16"), "NUL bytes"),
        (b"client_id,fecha_registro\xe9\n1,2024\n", "not a UTF-8 CSV"),
        (b"id_cliente;fecha_registro;estado\n1;2024-01-01;activo\n", "missing required column(s) client_id"),
        (b'{"client_id": "1", "registration_date": "2024-01-01"}\n', "missing required column(s) client_id"),
        (b"client_id,registration_date,client_id\n1,2024-01-01,2\n", "duplicate column(s) client_id"),
    ],
    ids=["empty", "binary", "utf16", "latin1-header", "semicolons", "json-in-csv", "duplicate-column"],
)
def test_files_that_are_not_contract_csv_are_rejected_whole_and_the_rest_loads(
    landing: Landing, warehouse: Path, content: bytes, message: str
) -> None:
    landing.write("clients/clients_2025-03-30.csv", content)
    good = landing.csv("clients", [client_row("1")])

    result = ingest_landing(landing.root, warehouse)

    files = by_file(result.files)
    bad = files["clients/clients_2025-03-30.csv"]
    assert bad["status"] == "rejected"
    assert message in bad["message"]
    assert (bad["rows_read"], bad["rows_loaded"], bad["rows_rejected"]) == (0, 0, 0)
    assert files[good]["status"] == "loaded"
    assert query(warehouse, "SELECT count(*) AS n FROM raw.clients") == [{"n": 1}]


def test_wrong_header_message_names_missing_columns_and_shows_the_header(
    landing: Landing, warehouse: Path
) -> None:
    landing.write("payments/payments_2025-03-31.csv", b"id_pago,id_cliente,valor\n1,2,3\n")

    result = ingest_landing(landing.root, warehouse)

    (entry,) = result.files
    assert entry["message"] == (
        "missing required column(s) payment_id, client_id, invoice_id, payment_date, due_date; "
        "header was: id_pago, id_cliente, valor"
    )


@pytest.mark.parametrize(
    ("relpath", "message"),
    [
        ("payments/notes.txt", "does not match payments_YYYY-MM-DD.csv"),
        ("payments/payments_2025-03-31.xlsx", "does not match payments_YYYY-MM-DD.csv"),
        ("payments/clients_2025-03-31.csv", "does not match payments_YYYY-MM-DD.csv"),
        ("payments/payments_2025-02-30.csv", "invalid export date"),
        ("invoices/invoices_2025-03-31.csv", "unknown folder 'invoices'"),
        ("README.md", "landing root"),
        ("payments/2025/payments_2025-03-31.csv", "subfolder"),
        ("hcpn/report_1.json", "does not match hcpn_<client_id>.json"),
    ],
)
def test_misplaced_or_misnamed_files_are_rejected_with_a_reason(
    landing: Landing, warehouse: Path, relpath: str, message: str
) -> None:
    landing.write(relpath, csv_bytes(PAYMENT_HEADER, [payment_row(1, "1")]))
    landing.csv("clients", [client_row("1")])

    result = ingest_landing(landing.root, warehouse)

    entry = by_file(result.files)[relpath]
    assert entry["status"] == "rejected" and message in entry["message"], entry
    assert query(warehouse, "SELECT count(*) AS n FROM raw.clients") == [{"n": 1}]
    assert query(warehouse, "SELECT count(*) AS n FROM raw.payments") == [{"n": 0}]


def test_hidden_files_are_not_deliveries(landing: Landing, warehouse: Path) -> None:
    landing.write("clients/.DS_Store", b"\x00\x01")
    landing.write(".sync/clients_2025-03-31.csv", b"x")
    landing.csv("clients", [client_row("1")])

    result = ingest_landing(landing.root, warehouse)

    assert [f["file"] for f in result.files] == ["clients/clients_2025-03-31.csv"]


def test_rows_the_csv_parser_cannot_split_are_quarantined_as_raw_lines(
    landing: Landing, warehouse: Path
) -> None:
    header, one, two, four = csv_bytes(CLIENT_HEADER, [client_row(i) for i in ("1", "2", "4")]).splitlines()
    lines = [
        header,
        one,  # line 2
        two + b",surplus",  # line 3: one field too many
        b"3,Only two",  # line 4: too few
        four,  # line 5
        four.replace(b"Comercial", b"Comercial \xff\xfe"),  # line 6: not UTF-8
    ]
    landing.write("clients/clients_2025-03-31.csv", b"\n".join(lines) + b"\n")

    result = ingest_landing(landing.root, warehouse)

    (entry,) = result.files
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (5, 2, 3)
    assert query(warehouse, "SELECT client_id, _line_number FROM raw.clients ORDER BY 2") == [
        {"client_id": "1", "_line_number": 2},
        {"client_id": "4", "_line_number": 5},
    ]
    rejected = {r["line_number"]: r for r in quarantine(warehouse)}
    assert rejected[3]["rules_broken"] == ["csv:too_many_columns"]
    assert rejected[3]["record"] == {"_raw_line": two.decode() + ",surplus"}
    assert rejected[4]["rules_broken"] == ["csv:missing_columns"]
    assert rejected[6]["rules_broken"] == ["csv:invalid_encoding"]


def test_line_numbers_are_physical_lines_across_blank_lines_and_quoted_line_breaks(
    landing: Landing, warehouse: Path
) -> None:
    rows = csv_bytes(
        CLIENT_HEADER, [client_row("1", client_name="Two@lines"), client_row("2"), client_row("3")]
    )
    header, one, two, three = rows.splitlines()
    lines = [
        header,  # 1
        one.replace(b"Two@lines", b'"Two\nlines"'),  # 2-3: a quoted line break
        b"",  # 4
        two,  # 5
        b"",  # 6
        three.replace(b",active,", b",Active,"),  # 7: quarantined
    ]
    landing.write("clients/clients_2025-03-31.csv", b"\n".join(lines) + b"\n")

    ingest_landing(landing.root, warehouse)

    loaded = query(warehouse, "SELECT client_id, client_name, _line_number FROM raw.clients ORDER BY 3")
    assert [(r["client_id"], r["_line_number"]) for r in loaded] == [("1", 2), ("2", 5)]
    assert loaded[0]["client_name"] == "Two\nlines"
    assert [(r["record"]["client_id"], r["line_number"]) for r in quarantine(warehouse)] == [("3", 7)]


def test_quarantined_record_is_verbatim_with_the_files_own_header(landing: Landing, warehouse: Path) -> None:
    header = ["Client_ID", "registration_date", "Account_Status", "extra note"]
    landing.csv("clients", [["0042", " 2024-01-01", "Active", "a, b"]], header=header)

    ingest_landing(landing.root, warehouse)

    (row,) = quarantine(warehouse)
    assert row["record"] == {
        "Client_ID": "0042",
        "registration_date": " 2024-01-01",
        "Account_Status": "Active",
        "extra note": "a, b",
    }
    assert row["rules_broken"] == ["account_status:accepted_values"]
    assert (row["source_file"], row["table_name"], row["line_number"]) == (
        "clients/clients_2025-03-31.csv",
        "clients",
        2,
    )
    assert row["export_date"] == EXPORT


def test_bureau_reports_client_id_from_name_with_underscores_and_defaults_missing_to_zero(
    landing: Landing, warehouse: Path
) -> None:
    report = bureau_report("2025-03-15")
    del report["defaults_bureau"]
    relpath = landing.bureau("CL_00_7", report)

    result = ingest_landing(landing.root, warehouse)

    assert by_file(result.files)[relpath]["status"] == "loaded"
    (row,) = query(warehouse, "SELECT * FROM raw.hcpn_reports")
    assert row["client_id"] == "CL_00_7"
    assert row["fecha_consulta"] == date(2025, 3, 15)
    assert row["defaults_bureau"] == 0
    assert row["puntaje_credito"] == 712.0
    assert (row["_line_number"], row["_export_date"], row["_source_file"]) == (1, date(2025, 3, 15), relpath)


def test_bureau_history_accumulates_as_the_file_is_rewritten(landing: Landing, warehouse: Path) -> None:
    landing.bureau("7", bureau_report("2025-01-10", puntaje_credito=650))
    ingest_landing(landing.root, warehouse)
    landing.bureau("7", bureau_report("2025-03-15", puntaje_credito=690))
    ingest_landing(landing.root, warehouse)
    ingest_landing(landing.root, warehouse)

    rows = query(warehouse, "SELECT fecha_consulta, puntaje_credito FROM raw.hcpn_reports ORDER BY 1")
    assert rows == [
        {"fecha_consulta": date(2025, 1, 10), "puntaje_credito": 650.0},
        {"fecha_consulta": date(2025, 3, 15), "puntaje_credito": 690.0},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"fecha_consulta": "2025-03-15", ', "invalid JSON"),
        ('[{"fecha_consulta": "2025-03-15"}]', "expected one JSON object"),
        ('{"estado_solicitud": "aprobado"}', "missing fecha_consulta"),
        ('{"fecha_consulta": null}', "missing fecha_consulta"),
        ('{"fecha_consulta": "15/03/2025"}', "is not a date"),
    ],
)
def test_unreadable_bureau_files_are_rejected_whole(
    landing: Landing, warehouse: Path, content: str, message: str
) -> None:
    bad = landing.bureau("1", content)
    good = landing.bureau("2", bureau_report())

    result = ingest_landing(landing.root, warehouse)

    files = by_file(result.files)
    assert files[bad]["status"] == "rejected" and message in files[bad]["message"]
    assert files[good]["status"] == "loaded"
    assert query(warehouse, "SELECT client_id FROM raw.hcpn_reports") == [{"client_id": "2"}]


def test_bureau_fields_breaking_rules_quarantine_the_report(landing: Landing, warehouse: Path) -> None:
    relpath = landing.bureau(
        "9", bureau_report(estado_solicitud="pendiente", puntaje_credito=1200, creditos_activos="tres")
    )

    result = ingest_landing(landing.root, warehouse)

    entry = by_file(result.files)[relpath]
    assert (entry["status"], entry["rows_read"], entry["rows_rejected"]) == ("loaded_with_rejects", 1, 1)
    (row,) = quarantine(warehouse)
    assert row["rules_broken"] == [
        "creditos_activos:type_integer",
        "estado_solicitud:accepted_values",
        "puntaje_credito:between_0_and_1000",
    ]
    assert row["record"]["creditos_activos"] == "tres"
    assert row["line_number"] == 1


def test_ingest_log_reads_back_every_delivery(landing: Landing, warehouse: Path) -> None:
    landing.csv("clients", [client_row("1")])
    landing.write("clients/clients_2025-03-30.csv", b"\x00")

    result = ingest_landing(landing.root, warehouse)

    log = read_ingest_log(warehouse)
    assert sorted(e["file"] for e in log) == sorted(f["file"] for f in result.files)
    for entry in log:
        assert {"file", "table", "rows_read", "rows_loaded", "rows_rejected", "status", "message"} <= set(
            entry
        )
        assert entry["table"] == "clients"
