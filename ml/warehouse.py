"""The one warehouse interface of the ML layer: read a query into pandas, replace rows of a table.

Narrow on purpose so that a BigQuery implementation is one more class: SQL text with `?` parameters
in, pandas out, and writes that replace the rows of a key set in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

# Logical column types, mapped per engine, so table specs in ml/ never hold engine-specific SQL.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class TableSpec:
    """A table the ML layer owns: qualified name, typed columns, and the key its writes replace by."""

    name: str
    columns: tuple[tuple[str, str], ...]
    replace_key: tuple[str, ...]

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


@dataclass(frozen=True)
class TableWrite:
    """Rows for one table, and the key values whose old rows they replace (default: the rows' own keys,
    given explicitly when the new rows may be fewer, e.g. none, than the old)."""

    table: TableSpec
    rows: pd.DataFrame
    replace_keys: pd.DataFrame | None = None

    def keys_frame(self) -> pd.DataFrame:
        source = self.rows if self.replace_keys is None else self.replace_keys
        return source[list(self.table.replace_key)].drop_duplicates()


# The catalog name every layer (dbt's profile too) opens the warehouse file under.
WAREHOUSE_CATALOG = "riskmart"


def connect_warehouse(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB warehouse file as the catalog `riskmart`, whatever the file is called.

    DuckDB names a file it opens directly after the file, so `ml.duckdb` holds a catalog `ml` beside the
    schema `ml`, and `ml.ml_scores` (or a view dbt wrote over `marts.x` in `marts.duckdb`) is refused as
    ambiguous. Attached under a fixed name, the schemas' names mean one thing in every layer.
    """
    path = Path(path)
    # spill beside the warehouse, as DuckDB does for a file it opens itself
    con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        mode = " (read_only)" if read_only else ""
        con.execute(f"attach ? as {WAREHOUSE_CATALOG}{mode}", [str(path)])
        con.execute(f"use {WAREHOUSE_CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


class Warehouse(Protocol):
    """What the ML layer needs from a warehouse, and nothing more."""

    def read(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run one parameterized query (`?` placeholders) and return its rows."""
        ...

    def table_columns(self, table: str) -> list[str] | None:
        """Column names of `schema.table`, or None when it does not exist."""
        ...

    def replace_rows(self, writes: Sequence[TableWrite]) -> None:
        """For each write: delete the table's rows with the write's key values and insert its rows; all
        tables in one transaction, each created first when missing."""
        ...


class WarehouseError(RuntimeError):
    """The warehouse could not be read or written as asked."""


class DuckDBWarehouse:
    """The embedded warehouse file. Each call opens and closes its own connection, because dbt opens
    the same file in the same process afterwards and DuckDB allows one writer."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = connect_warehouse(self.path)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
        try:
            yield con
        finally:
            con.close()

    def read(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._connect() as con:
            try:
                return con.execute(sql, list(params)).df()
            except duckdb.Error as exc:
                raise WarehouseError(f"query failed on {self.path}: {exc}") from exc

    def table_columns(self, table: str) -> list[str] | None:
        schema, name = table.split(".", 1)
        if not self.path.exists():
            return None
        with self._connect() as con:
            rows = con.execute(
                "select column_name from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
        return [r[0] for r in rows] or None

    def replace_rows(self, writes: Sequence[TableWrite]) -> None:
        for write in writes:
            missing = [c for c in write.table.column_names if c not in write.rows.columns]
            if missing:
                raise WarehouseError(f"rows for {write.table.name} lack columns {missing}")
        with self._connect() as con:
            con.execute("begin transaction")
            try:
                for number, write in enumerate(writes):
                    self._replace_one(con, write, f"_incoming_{number}")
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise

    @staticmethod
    def _replace_one(con: duckdb.DuckDBPyConnection, write: TableWrite, view: str) -> None:
        # Identifiers below come only from TableSpec constants defined in ml/, never from input.
        spec = write.table
        kinds = dict(spec.columns)
        columns_ddl = ", ".join(f"{name} {DUCKDB_TYPES[kind]}" for name, kind in spec.columns)
        typed = ", ".join(f"cast({name} as {DUCKDB_TYPES[kind]}) as {name}" for name, kind in spec.columns)
        typed_keys = ", ".join(f"cast({k} as {DUCKDB_TYPES[kinds[k]]}) as {k}" for k in spec.replace_key)
        key_match = " and ".join(f"t.{k} is not distinct from k.{k}" for k in spec.replace_key)
        con.execute(f"create schema if not exists {spec.schema}")
        con.execute(f"create table if not exists {spec.name} ({columns_ddl})")
        # a column added to a spec since the table was created is added to the table (NULL in older rows)
        for name, kind in spec.columns:
            con.execute(f"alter table {spec.name} add column if not exists {name} {DUCKDB_TYPES[kind]}")
        con.register(f"{view}_keys", write.keys_frame())
        con.register(view, write.rows[spec.column_names])
        try:
            con.execute(
                f"delete from {spec.name} t where exists"  # noqa: S608
                f" (select 1 from (select {typed_keys} from {view}_keys) k where {key_match})"
            )
            con.execute(f"insert into {spec.name} by name select {typed} from {view}")  # noqa: S608
        finally:
            con.unregister(view)
            con.unregister(f"{view}_keys")


def open_warehouse(path: Path) -> Warehouse:
    """The warehouse the settings point at (DuckDB for now; BigQuery follows behind this interface)."""
    return DuckDBWarehouse(path)
