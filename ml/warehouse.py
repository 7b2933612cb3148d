"""The one warehouse interface of the Python layers: read a query into pandas or Arrow, run a statement,
replace rows of a table. Two implementations, chosen by the settings' engine (the type of the dbt target):
the DuckDB file and BigQuery.

Narrow on purpose: SQL text with `?` parameters in (both engines take positional parameters), pandas or
Arrow out, and writes that replace the rows of a key set in one transaction. SQL names tables
`schema.table`: a schema of the DuckDB file, a dataset of the BigQuery project. What differs between the
engines (a type name, how a table is named in generated SQL) is a method of the warehouse, never an `if`
in the callers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

# Logical column types, mapped per engine, so table specs in ml/ never hold engine-specific SQL.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}
BIGQUERY_TYPES = {
    "string": "STRING",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "float": "FLOAT64",
    "int": "INT64",
    "bool": "BOOL",
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
    """What the Python layers need from a warehouse, and nothing more."""

    engine: str  # "duckdb" or "bigquery"

    def read(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run one parameterized query (`?` placeholders) and return its rows (dates and timestamps as
        datetime64, timestamps in UTC without a zone, on both engines)."""
        ...

    def read_arrow(self, sql: str, params: Sequence[object] = ()) -> pa.Table:
        """Run one parameterized query and return its rows as an Arrow table (exports, large reads)."""
        ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> int | None:
        """Run one parameterized statement (DML, DDL); the rows it changed when the engine says so."""
        ...

    def table_columns(self, table: str) -> list[str] | None:
        """Column names of `schema.table`, or None when it does not exist."""
        ...

    def replace_rows(self, writes: Sequence[TableWrite]) -> None:
        """For each write: delete the table's rows with the write's key values and insert its rows; all
        tables in one transaction, each created first when missing (and given the spec's new columns)."""
        ...

    def type_name(self, kind: str) -> str:
        """The engine's name of a logical column type (string, date, timestamp, float, int, bool)."""
        ...

    def session(self) -> AbstractContextManager[Warehouse]:
        """A block whose calls may share one connection; its value is the warehouse to call."""
        ...


class WarehouseError(RuntimeError):
    """The warehouse could not be read or written as asked."""


def _check_columns(writes: Sequence[TableWrite]) -> None:
    for write in writes:
        missing = [c for c in write.table.column_names if c not in write.rows.columns]
        if missing:
            raise WarehouseError(f"rows for {write.table.name} lack columns {missing}")


class DuckDBWarehouse:
    """The embedded warehouse file. Each call opens and closes its own connection, because dbt opens
    the same file in the same process afterwards and DuckDB allows one writer."""

    engine = "duckdb"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._held: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def session(self) -> Iterator[DuckDBWarehouse]:
        """Calls inside the block share one connection: a reader of many tables (the publisher) opens the
        file once, not once a call (each open attaches the file and reads its catalog: 3x the publisher's
        CPU). Outside the block, each call opens its own again."""
        if self._held is not None:
            yield self
            return
        with self._connect() as con:
            self._held = con
            try:
                yield self
            finally:
                self._held = None

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._held is not None:
            yield self._held
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = connect_warehouse(self.path)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
        try:
            yield con
        finally:
            con.close()

    def type_name(self, kind: str) -> str:
        return DUCKDB_TYPES[kind]

    def read(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._connect() as con:
            try:
                return con.execute(sql, list(params)).df()
            except duckdb.Error as exc:
                raise WarehouseError(f"query failed on {self.path}: {exc}") from exc

    def read_arrow(self, sql: str, params: Sequence[object] = ()) -> pa.Table:
        with self._connect() as con:
            try:
                # a relation converts to Arrow without the extra copy a DB-API result makes; DuckDB 2 names
                # it to_arrow_table, 1.4 (still allowed by pyproject) arrow
                relation = con.sql(sql, params=list(params))
                fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
                return fetch()
            except duckdb.Error as exc:
                raise WarehouseError(f"query failed on {self.path}: {exc}") from exc

    def execute(self, sql: str, params: Sequence[object] = ()) -> int | None:
        with self._connect() as con:
            try:
                cursor = con.execute(sql, list(params))
                # DuckDB answers a DML statement with one row, one column: the rows it changed (DDL: no row)
                counted = cursor.description and [d[0] for d in cursor.description] == ["Count"]
                row = cursor.fetchone() if counted else None
                return None if row is None else int(row[0])
            except duckdb.Error as exc:
                raise WarehouseError(f"statement failed on {self.path}: {exc}") from exc

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
        _check_columns(writes)
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


def _bigquery_parameter(value: object):
    """A positional query parameter of BigQuery's type for a Python value (BigQuery, unlike DuckDB, needs
    each parameter's type)."""
    from google.cloud import bigquery

    if isinstance(value, list | tuple):
        kinds = {_bigquery_scalar_type(v) for v in value if v is not None}
        if len(kinds) > 1:
            raise WarehouseError(f"an array parameter mixes types {sorted(kinds)}")
        kind = kinds.pop() if kinds else "STRING"
        return bigquery.ArrayQueryParameter(None, kind, [_bigquery_value(v) for v in value])
    if value is None or _is_missing(value):
        return bigquery.ScalarQueryParameter(None, "STRING", None)
    return bigquery.ScalarQueryParameter(None, _bigquery_scalar_type(value), _bigquery_value(value))


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _bigquery_scalar_type(value: object) -> str:
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return "BOOL"
    if isinstance(value, int | np.integer):
        return "INT64"
    if isinstance(value, float | np.floating):
        return "FLOAT64"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bytes):
        return "BYTES"
    if isinstance(value, dt.datetime):  # pd.Timestamp too; before date: a datetime is a date
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    raise WarehouseError(f"a query parameter of type {type(value).__name__} has no BigQuery type")


def _bigquery_value(value: object) -> object:
    if hasattr(value, "item") and not isinstance(value, dt.datetime):  # numpy scalars
        return value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # naive timestamps are UTC, as in DuckDB's tables
    return value


def _json_column(values: pd.Series, kind: str, where: str) -> list[object]:
    """One column as JSON values of BigQuery's load format (NULL for missing values). Floats keep every
    digit (Python's repr round-trips); timestamps are UTC."""
    if kind == "string":
        return [None if _is_missing(v) else str(v) for v in values]
    if kind in {"date", "timestamp"}:
        stamps = pd.to_datetime(values, errors="coerce", utc=True) if len(values) else values
        bad = stamps.isna() & values.notna() if len(values) else []
        if len(values) and bad.any():
            raise WarehouseError(f"{where}: {values[bad].iloc[0]!r} is not a {kind}")
        shape = "%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S.%f"
        return [None if pd.isna(v) else v.strftime(shape) for v in stamps]
    if kind == "float":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64") if len(values) else values
        out = []
        for original, number in zip(values, numbers, strict=True):
            if _is_missing(number):
                if not _is_missing(original):
                    raise WarehouseError(f"{where}: {original!r} is not a number")
                out.append(None)
            elif not math.isfinite(number):
                raise WarehouseError(f"{where}: {number} cannot be stored in BigQuery's load format")
            else:
                out.append(float(number))
        return out
    if kind == "int":
        out = []
        for value in values:
            if _is_missing(value):
                out.append(None)
                continue
            number = float(value) if not isinstance(value, int) else value
            if number != int(number):
                raise WarehouseError(f"{where}: {value!r} is not a whole number")
            out.append(int(number))
        return out
    if kind == "bool":
        return [None if _is_missing(v) else bool(v) for v in values]
    raise WarehouseError(f"{where}: unknown column type {kind!r}")


def _ndjson(frame: pd.DataFrame, columns: Sequence[tuple[str, str]], table: str) -> bytes:
    """Rows as newline-delimited JSON in BigQuery's load format."""
    data = {name: _json_column(frame[name], kind, f"{table}.{name}") for name, kind in columns}
    names = [name for name, _ in columns]
    lines = (
        json.dumps(dict(zip(names, row, strict=True)), allow_nan=False)
        for row in zip(*(data[n] for n in names), strict=True)
    )
    return "".join(f"{line}\n" for line in lines).encode()


class BigQueryWarehouse:
    """Datasets of one BigQuery project (dbt's schema names: raw, staging, marts, ml, ...). Queries run as
    query jobs with positional parameters; replace_rows loads each write's rows and keys with load jobs of
    newline-delimited JSON into staging tables (never DataFrame or Parquet uploads, which emulators cannot
    take) and moves them in one multi-statement transaction: every table changes, or none."""

    engine = "bigquery"
    STAGING_HOURS = 6  # a staging table left by a killed write expires by itself

    def __init__(self, client: Any, *, project: str | None = None, location: str | None = None) -> None:
        self.client = client
        self.project = project or client.project
        self.location = location or client.location

    @contextmanager
    def session(self) -> Iterator[BigQueryWarehouse]:
        """Every call already shares the client (and its HTTP session)."""
        yield self

    def type_name(self, kind: str) -> str:
        return BIGQUERY_TYPES[kind]

    @staticmethod
    def quote(identifier: str) -> str:
        """A column name quoted for BigQuery (a name like `rank` may be a keyword of an engine)."""
        return f"`{identifier}`"

    def relation(self, table: str) -> str:
        """`schema.table` as BigQuery names it in a statement: project, dataset and table, quoted."""
        return f"`{self.project}.{table}`"

    def _job_config(self, params: Sequence[object]):
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(query_parameters=[_bigquery_parameter(p) for p in params])

    def _run(self, sql: str, params: Sequence[object] = ()):
        from google.api_core.exceptions import GoogleAPICallError

        try:
            job = self.client.query(sql, job_config=self._job_config(params), location=self.location)
            job.result()
        except GoogleAPICallError as exc:
            raise WarehouseError(f"BigQuery ({self.project}) refused the query: {_bq_message(exc)}") from exc
        return job

    def read_arrow(self, sql: str, params: Sequence[object] = ()) -> pa.Table:
        from google.api_core.exceptions import GoogleAPICallError

        job = self._run(sql, params)
        try:
            return job.to_arrow(create_bqstorage_client=False)
        except GoogleAPICallError as exc:
            raise WarehouseError(
                f"BigQuery ({self.project}) could not return rows: {_bq_message(exc)}"
            ) from exc

    def read(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        return frame_like_duckdb(self.read_arrow(sql, params))

    def execute(self, sql: str, params: Sequence[object] = ()) -> int | None:
        job = self._run(sql, params)
        affected = job.num_dml_affected_rows
        return None if affected is None else int(affected)

    def table_columns(self, table: str) -> list[str] | None:
        from google.api_core.exceptions import GoogleAPICallError, NotFound

        try:
            found = self.client.get_table(f"{self.project}.{table}")
        except NotFound:
            return None
        except GoogleAPICallError as exc:
            raise WarehouseError(
                f"BigQuery ({self.project}): cannot read {table}: {_bq_message(exc)}"
            ) from exc
        return [field.name for field in found.schema] or None

    def _schema(self, columns: Sequence[tuple[str, str]]):
        from google.cloud import bigquery

        return [bigquery.SchemaField(name, BIGQUERY_TYPES[kind]) for name, kind in columns]

    def _ensure_table(self, spec: TableSpec) -> None:
        """The dataset and the table, created when missing; a column the spec gained is added."""
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.project}.{spec.schema}")
        if self.location:
            dataset.location = self.location
        self.client.create_dataset(dataset, exists_ok=True)
        table = self.client.create_table(
            bigquery.Table(f"{self.project}.{spec.name}", schema=self._schema(spec.columns)), exists_ok=True
        )
        present = {field.name for field in table.schema}
        added = [(name, kind) for name, kind in spec.columns if name not in present]
        if added:
            table.schema = [*table.schema, *self._schema(added)]
            self.client.update_table(table, ["schema"])

    def _load(
        self, table_id: str, frame: pd.DataFrame, columns: Sequence[tuple[str, str]], name: str
    ) -> None:
        import io

        from google.cloud import bigquery

        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            schema=self._schema(columns),
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        )
        payload = io.BytesIO(_ndjson(frame, columns, name))
        self.client.load_table_from_file(
            payload, table_id, job_config=config, location=self.location
        ).result()
        staged = self.client.get_table(table_id)
        staged.expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=self.STAGING_HOURS)
        self.client.update_table(staged, ["expires"])

    def replace_rows(self, writes: Sequence[TableWrite]) -> None:
        from google.api_core.exceptions import GoogleAPICallError

        _check_columns(writes)
        token = uuid.uuid4().hex[:12]
        staged: list[str] = []
        statements = []
        try:
            for number, write in enumerate(writes):
                spec = write.table
                kinds = dict(spec.columns)
                self._ensure_table(spec)
                rows_id = f"{self.project}.{spec.schema}._incoming_{token}_{number}"
                keys_id = f"{rows_id}_keys"
                staged += [rows_id, keys_id]
                self._load(rows_id, write.rows, spec.columns, spec.name)
                self._load(keys_id, write.keys_frame(), [(k, kinds[k]) for k in spec.replace_key], spec.name)
                # identifiers come only from TableSpec constants defined in ml/, never from input
                names = ", ".join(self.quote(c) for c in spec.column_names)
                key_match = " and ".join(
                    f"t.{self.quote(k)} is not distinct from k.{self.quote(k)}" for k in spec.replace_key
                )
                statements += [
                    f"delete from {self.relation(spec.name)} t where exists"  # noqa: S608
                    f" (select 1 from `{keys_id}` k where {key_match});",
                    f"insert into {self.relation(spec.name)} ({names}) select {names} from `{rows_id}`;",  # noqa: S608
                ]
            # one script: a failing statement fails the query, and BigQuery rolls the transaction back
            self._run("\n".join(["begin transaction;", *statements, "commit transaction;"]))
        except GoogleAPICallError as exc:
            raise WarehouseError(f"BigQuery ({self.project}): write failed: {_bq_message(exc)}") from exc
        finally:
            for table_id in staged:
                try:
                    self.client.delete_table(table_id, not_found_ok=True)
                except GoogleAPICallError:
                    pass  # it expires by itself (STAGING_HOURS)


def frame_like_duckdb(table: pa.Table) -> pd.DataFrame:
    """An Arrow result as pandas with the dtypes DuckDB's own pandas reads give, so that both engines hand
    the ML layer the same frame (features are chosen by dtype: a boolean column with NULLs is numeric as
    DuckDB's nullable `boolean`, but would be text as Arrow's default object column). Dates and timestamps
    become datetime64 (UTC, no zone), NUMERIC becomes float64, integer and boolean columns with NULLs the
    nullable Int64 and boolean."""
    import pyarrow as pa

    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            column = column.cast(pa.timestamp(field.type.unit))
        elif pa.types.is_date(field.type):
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_decimal(field.type):  # NUMERIC
            column = column.cast(pa.float64())
        columns.append(column)
    frame = pa.table(columns, names=table.column_names).to_pandas()
    for field, column in zip(table.schema, table.columns, strict=True):
        if column.null_count and pa.types.is_integer(field.type):
            frame[field.name] = frame[field.name].astype("Int64")
        elif column.null_count and pa.types.is_boolean(field.type):
            frame[field.name] = frame[field.name].astype("boolean")
    return frame


def _bq_message(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None) or []
    details = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
    return details or str(exc)


def open_warehouse(settings: Any) -> Warehouse:
    """The warehouse of the settings' engine (riskmart.settings.Settings: `engine` is the dbt target's
    type): the DuckDB file `settings.warehouse`, or BigQuery through `settings.bigquery_client()`."""
    if settings.engine == "bigquery":
        return BigQueryWarehouse(
            settings.bigquery_client(), project=settings.bq_project, location=settings.bq_location
        )
    return DuckDBWarehouse(settings.warehouse)
