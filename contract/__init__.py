"""The data contract (shared/docs/data-contract.md) as code: one spec per landing table.

The generator writes these layouts, the loader validates against them and creates the raw
tables from them, so the contract lives in exactly one place on the Python side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

# DuckDB types of the raw tables; the loader casts validated strings to these.
STRING, INTEGER, FLOAT, DATE, TIMESTAMP = "VARCHAR", "BIGINT", "DOUBLE", "DATE", "TIMESTAMP"

# Lineage columns every raw row carries (the loader fills them).
LINEAGE_COLUMNS: dict[str, str] = {
    "_file_id": STRING,  # sha256 of the file's path and content: one delivery
    "_source_file": STRING,  # path relative to the landing root, e.g. payments/payments_2025-01-31.csv
    "_line_number": INTEGER,  # line of the record in the file (header is line 1)
    "_export_date": DATE,  # export date from the file name (bureau reports: fecha_consulta)
    "_loaded_at": TIMESTAMP,  # when the loader committed the delivery (UTC)
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    accepted_values: tuple[str, ...] | None = None
    min_value: float | None = None
    strict_min: bool = False  # True: value > min_value; False: value >= min_value
    max_value: float | None = None
    not_after_file_date: bool = False  # dates: <= the export date in the file name
    pii: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str  # raw table name and landing folder
    columns: tuple[Column, ...]
    business_key: tuple[str, ...]
    unique_within_file: tuple[str, ...] = ()
    # column pairs (a, b) meaning a >= b when both are present
    ordered_pairs: tuple[tuple[str, str], ...] = ()
    client_must_exist: bool = False
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return self.name

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def file_name(self, export_date: date) -> str:
        return f"{self.name}_{export_date.isoformat()}.csv"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ACCOUNT_STATUSES = ("active", "suspended", "closed", "defaulted")
ORDER_STATUSES = ("completed", "cancelled", "returned")
PLAN_STATUSES = ("active", "completed", "defaulted", "cancelled")
BUREAU_DECISIONS = ("aprobado", "rechazado")

CLIENTS = TableSpec(
    name="clients",
    description="Full snapshot of every client on the export date.",
    columns=(
        Column("client_id", STRING, required=True),
        Column("client_name", STRING, pii=True),
        Column("tax_id", STRING, pii=True),
        Column("registration_date", DATE, required=True, not_after_file_date=True),
        Column("industry", STRING),
        Column("current_credit_limit", FLOAT, min_value=0),
        Column("current_outstanding", FLOAT, min_value=0),
        Column("account_status", STRING, accepted_values=ACCOUNT_STATUSES),
        Column("created_at", TIMESTAMP),
        Column("updated_at", TIMESTAMP),
    ),
    business_key=("client_id",),
    unique_within_file=("client_id",),
)

PAYMENTS = TableSpec(
    name="payments",
    description="Payments with payment_date in the 7 days up to the export date.",
    columns=(
        Column("payment_id", INTEGER, required=True),
        Column("client_id", STRING, required=True),
        Column("invoice_id", STRING, required=True),
        Column("payment_date", DATE, required=True, not_after_file_date=True),
        Column("due_date", DATE, required=True),
        Column("payment_amount", FLOAT, min_value=0, strict_min=True),
        Column("days_past_due", INTEGER),
        Column("payment_method", STRING),
        Column("created_at", TIMESTAMP),
    ),
    business_key=("payment_id",),
    client_must_exist=True,
)

ORDERS = TableSpec(
    name="orders",
    description="Orders with order_date in the 7 days up to the export date; each issues one invoice.",
    columns=(
        Column("order_id", INTEGER, required=True),
        Column("client_id", STRING, required=True),
        Column("order_date", DATE, required=True, not_after_file_date=True),
        Column("order_value", FLOAT, min_value=0, strict_min=True),
        Column("order_status", STRING, accepted_values=ORDER_STATUSES),
        Column("invoice_id", STRING),
        Column("due_date", DATE),
        Column("created_at", TIMESTAMP),
    ),
    business_key=("order_id",),
    ordered_pairs=(("due_date", "order_date"),),
    client_must_exist=True,
)

UTILIZATION_MONTHLY = TableSpec(
    name="utilization_monthly",
    description="Monthly utilization of months that started in the 60 days up to the export date.",
    columns=(
        Column("id", INTEGER, required=True),
        Column("client_id", STRING, required=True),
        Column("month", DATE),
        Column("avg_outstanding", FLOAT, min_value=0),
        Column("max_outstanding", FLOAT, min_value=0),
        Column("credit_limit", FLOAT, min_value=0),
        Column("utilization_pct", FLOAT, min_value=0),
    ),
    business_key=("id",),
    ordered_pairs=(("max_outstanding", "avg_outstanding"),),
    client_must_exist=True,
)

PAYMENT_PLANS = TableSpec(
    name="payment_plans",
    description="Payment plans created or updated in the 30 days up to the export date.",
    columns=(
        Column("plan_id", INTEGER, required=True),
        Column("client_id", STRING, required=True),
        Column("plan_start_date", DATE),
        Column("plan_end_date", DATE),
        Column("original_amount", FLOAT, min_value=0, strict_min=True),
        Column("plan_status", STRING, accepted_values=PLAN_STATUSES),
        Column("completion_date", DATE),
        Column("created_at", TIMESTAMP),
        Column("updated_at", TIMESTAMP),
    ),
    business_key=("plan_id",),
    ordered_pairs=(("plan_end_date", "plan_start_date"),),
    client_must_exist=True,
)

# Load order matters only for the client-exists rule: clients first.
CSV_TABLES: tuple[TableSpec, ...] = (CLIENTS, PAYMENTS, ORDERS, UTILIZATION_MONTHLY, PAYMENT_PLANS)
CSV_TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in CSV_TABLES}

HCPN_FOLDER = "hcpn"
HCPN_TABLE = "hcpn_reports"
HCPN_COLUMNS: dict[str, str] = {
    "client_id": STRING,  # from the file name
    "fecha_consulta": DATE,
    "estado_solicitud": STRING,
    "motivo_rechazo": STRING,
    "puntaje_credito": FLOAT,
    "defaults_bureau": INTEGER,
    "deuda_total_externa": FLOAT,
    "creditos_activos": INTEGER,
}

CSV_FILE_PATTERN = re.compile(r"^(?P<table>[a-z_]+)_(?P<date>\d{4}-\d{2}-\d{2})\.csv$")
HCPN_FILE_PATTERN = re.compile(r"^hcpn_(?P<client_id>.+)\.json$")

QUARANTINE_TABLE = "quarantine"
INGEST_LOG_TABLE = "ingest_log"
RAW_SCHEMA = "raw"
