"""Opening the warehouse file the way every layer does."""

from __future__ import annotations

from pathlib import Path

import duckdb

# The catalog every layer attaches the warehouse file under (dbt's profile, ml.warehouse): opened directly,
# a file named like a schema (raw.duckdb) makes `raw.x` ambiguous. ingest imports nothing but the contract
# (docs/architecture.md), hence this copy of ml.warehouse.connect_warehouse; a test keeps the two equal.
WAREHOUSE_CATALOG = "riskmart"


def connect_warehouse(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The warehouse file attached as the catalog `riskmart` and in use."""
    con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        con.execute(f"attach ? as {WAREHOUSE_CATALOG}{' (read_only)' if read_only else ''}", [str(path)])
        con.execute(f"use {WAREHOUSE_CATALOG}")
    except BaseException:
        con.close()
        raise
    return con
