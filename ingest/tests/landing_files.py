"""Hand-made landing folders for the ingest tests: valid rows per table, and CSVs written byte by byte.

These do not use the demo generator on purpose: the loader must accept any producer that follows the
contract, so the tests write files the way another system might (BOMs, CRLF, quoting, odd headers).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb

from contract import CSV_TABLES_BY_NAME

EXPORT = date(2025, 3, 31)


def client_row(client_id: str, export: date = EXPORT, /, **overrides: str) -> dict[str, str]:
    row = {
        "client_id": client_id,
        "client_name": f"Comercial {client_id}, S.A.S.",
        "tax_id": f"900{client_id}",
        "registration_date": (export - timedelta(days=200)).isoformat(),
        "industry": "retail",
        "current_credit_limit": "5000000",
        "current_outstanding": "1250000.50",
        "account_status": "active",
        "created_at": f"{export - timedelta(days=200)} 09:00:00",
        "updated_at": f"{export} 08:00:00",
    }
    return row | overrides


def payment_row(
    payment_id: int, client_id: str, export: date = EXPORT, /, **overrides: str
) -> dict[str, str]:
    paid = export - timedelta(days=1)
    row = {
        "payment_id": str(payment_id),
        "client_id": client_id,
        "invoice_id": f"INV-{payment_id}",
        "payment_date": paid.isoformat(),
        "due_date": (paid - timedelta(days=3)).isoformat(),
        "payment_amount": "150000",
        "days_past_due": "3",
        "payment_method": "transfer",
        "created_at": f"{paid} 14:30:00",
    }
    return row | overrides


def order_row(order_id: int, client_id: str, export: date = EXPORT, /, **overrides: str) -> dict[str, str]:
    ordered = export - timedelta(days=2)
    row = {
        "order_id": str(order_id),
        "client_id": client_id,
        "order_date": ordered.isoformat(),
        "order_value": "420000",
        "order_status": "completed",
        "invoice_id": f"INV-{order_id}",
        "due_date": (ordered + timedelta(days=30)).isoformat(),
        "created_at": f"{ordered} 11:00:00",
    }
    return row | overrides


def utilization_row(
    row_id: int, client_id: str, export: date = EXPORT, /, **overrides: str
) -> dict[str, str]:
    row = {
        "id": str(row_id),
        "client_id": client_id,
        "month": export.replace(day=1).isoformat(),
        "avg_outstanding": "1000000",
        "max_outstanding": "1500000",
        "credit_limit": "5000000",
        "utilization_pct": "20.0",
    }
    return row | overrides


def plan_row(plan_id: int, client_id: str, export: date = EXPORT, /, **overrides: str) -> dict[str, str]:
    start = export - timedelta(days=10)
    row = {
        "plan_id": str(plan_id),
        "client_id": client_id,
        "plan_start_date": start.isoformat(),
        "plan_end_date": (start + timedelta(days=180)).isoformat(),
        "original_amount": "3000000",
        "plan_status": "active",
        "completion_date": "",
        "created_at": f"{start} 10:00:00",
        "updated_at": f"{export} 10:00:00",
    }
    return row | overrides


def bureau_report(fecha: str = "2025-03-15", **overrides: object) -> dict:
    report = {
        "fecha_consulta": fecha,
        "estado_solicitud": "aprobado",
        "motivo_rechazo": None,
        "puntaje_credito": 712,
        "defaults_bureau": 0,
        "deuda_total_externa": 25000000.0,
        "creditos_activos": 3,
    }
    return report | overrides


def csv_bytes(
    header: list[str], rows: list[list[str]] | list[dict[str, str]], *, bom: bool = False, crlf: bool = False
) -> bytes:
    """CSV text as a spreadsheet or database export would write it (minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode()


class Landing:
    """A landing folder under construction."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def write(self, relpath: str, content: bytes) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def csv(
        self,
        table: str,
        rows: list[dict[str, str]] | list[list[str]],
        export: date = EXPORT,
        header: list[str] | None = None,
        **options: bool,
    ) -> str:
        """Write <table>/<table>_<export>.csv; returns its path relative to the landing root."""
        header = header or list(CSV_TABLES_BY_NAME[table].column_names)
        relpath = f"{table}/{table}_{export.isoformat()}.csv"
        self.write(relpath, csv_bytes(header, rows, **options))
        return relpath

    def bureau(self, client_id: str, report: dict | str) -> str:
        relpath = f"hcpn/hcpn_{client_id}.json"
        self.write(relpath, (report if isinstance(report, str) else json.dumps(report)).encode())
        return relpath


def query(warehouse: Path, sql: str, params: list | None = None) -> list[dict]:
    """Rows of a query on the warehouse as dicts (opened read-only, closed at once)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def quarantine(warehouse: Path) -> list[dict]:
    rows = query(warehouse, "SELECT * FROM raw.quarantine ORDER BY source_file, line_number")
    for row in rows:
        row["record"] = json.loads(row["record"])
        row["rules_broken"] = json.loads(row["rules_broken"])
    return rows


def by_file(result_files: list[dict]) -> dict[str, dict]:
    return {f["file"]: f for f in result_files}


RAW_TABLES = ("clients", "payments", "orders", "utilization_monthly", "payment_plans", "hcpn_reports")


def raw_contents(warehouse: Path) -> dict[str, list[tuple]]:
    """Every raw, quarantine and log row, without the load times, sorted: what a load produced."""
    out = {}
    for table in RAW_TABLES:
        rows = query(warehouse, f"SELECT * EXCLUDE (_loaded_at) FROM raw.{table}")
        out[table] = sorted(tuple(r.values()) for r in rows)
    rows = query(warehouse, "SELECT * EXCLUDE (loaded_at) FROM raw.quarantine")
    out["quarantine"] = sorted(tuple(str(v) for v in r.values()) for r in rows)
    rows = query(
        warehouse, "SELECT * EXCLUDE (started_at, finished_at, duration_seconds, message) FROM raw.ingest_log"
    )
    out["ingest_log"] = sorted(tuple(str(v) for v in r.values()) for r in rows)
    return out


def assert_counts_reconcile(warehouse: Path) -> None:
    """rows_read = rows_loaded + rows_rejected, and both match what the tables hold, for every delivery."""
    loaded = " UNION ALL ".join(f"SELECT _file_id, count(*) AS n FROM raw.{t} GROUP BY 1" for t in RAW_TABLES)
    log = query(
        warehouse,
        f"""
        SELECT l.*, coalesce(r.n, 0) AS in_raw, coalesce(q.n, 0) AS in_quarantine
        FROM raw.ingest_log AS l
        LEFT JOIN ({loaded}) AS r ON r._file_id = l.file_id
        LEFT JOIN (SELECT _file_id, count(*) AS n FROM raw.quarantine GROUP BY 1) AS q ON q._file_id = l.file_id
        """,
    )
    assert log
    for entry in log:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_rejected"], entry
        assert (entry["in_raw"], entry["in_quarantine"]) == (entry["rows_loaded"], entry["rows_rejected"]), (
            entry
        )
        if entry["status"] == "rejected":
            assert entry["rows_read"] == 0 and entry["message"]
        else:
            assert entry["status"] == ("loaded_with_rejects" if entry["rows_rejected"] else "loaded")
