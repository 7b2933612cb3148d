"""The DuckDB warehouse: typed tables, replace by key, all-or-nothing writes, connections closed."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ml.warehouse import DuckDBWarehouse, TableSpec, TableWrite, WarehouseError, connect_warehouse

SCORES = TableSpec(
    "ml.example_scores",
    (("client_id", "string"), ("feature_date", "date"), ("value", "float")),
    replace_key=("feature_date",),
)
NOTES = TableSpec(
    "ml.example_notes", (("feature_date", "date"), ("note", "string")), replace_key=("feature_date",)
)


def _rows(day: str, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": [f"00{i}" for i in range(len(values))],
            "feature_date": pd.Timestamp(day),
            "value": values,
        }
    )


def test_replace_rows_creates_typed_tables_and_replaces_by_key(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    assert warehouse.table_columns(SCORES.name) is None
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [1.0, 2.0]))])
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-02-29", [3.0]))])
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [5.0, 6.0, 7.0]))])
    out = warehouse.read("select * from ml.example_scores order by feature_date, client_id")
    assert out["value"].tolist() == [5.0, 6.0, 7.0, 3.0]
    # Ids keep their leading zeros; dates are dates.
    assert out["client_id"].tolist()[:2] == ["000", "001"]
    types = warehouse.read(
        "select column_name, data_type from information_schema.columns where table_name = ?",
        ["example_scores"],
    )
    assert dict(zip(types["column_name"], types["data_type"], strict=True)) == {
        "client_id": "VARCHAR",
        "feature_date": "DATE",
        "value": "DOUBLE",
    }


def test_explicit_replace_keys_clear_a_key_even_with_no_new_rows(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [1.0]))])
    keys = pd.DataFrame({"feature_date": [pd.Timestamp("2024-01-31")]})
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [])[:0], replace_keys=keys)])
    assert warehouse.read("select count(*) as n from ml.example_scores")["n"].iloc[0] == 0


def test_a_failing_write_leaves_every_table_as_it_was(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [1.0])), TableWrite(NOTES, _notes("ok"))])
    bad_notes = pd.DataFrame({"feature_date": ["not a date"], "note": ["x"]})
    with pytest.raises(duckdb.Error):
        warehouse.replace_rows(
            [TableWrite(SCORES, _rows("2024-01-31", [9.0, 9.0])), TableWrite(NOTES, bad_notes)]
        )
    assert warehouse.read("select value from ml.example_scores")["value"].tolist() == [1.0]
    assert warehouse.read("select note from ml.example_notes")["note"].tolist() == ["ok"]


def _notes(text: str) -> pd.DataFrame:
    return pd.DataFrame({"feature_date": [pd.Timestamp("2024-01-31")], "note": [text]})


def test_parameters_are_bound_not_interpolated(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.replace_rows([TableWrite(NOTES, _notes("it's fine"))])
    out = warehouse.read("select note from ml.example_notes where note = ?", ["it's fine"])
    assert out["note"].tolist() == ["it's fine"]


def test_no_connection_is_left_open(tmp_path):
    path = tmp_path / "w.duckdb"
    warehouse = DuckDBWarehouse(path)
    warehouse.replace_rows([TableWrite(NOTES, _notes("a"))])
    warehouse.read("select * from ml.example_notes")
    # A read-only connection with another configuration fails while any connection is open in-process.
    con = duckdb.connect(str(path), read_only=True)
    con.close()


@pytest.mark.parametrize("file_name", ["ml.duckdb", "marts.duckdb", "riskmart.duckdb"])
def test_a_warehouse_file_named_like_a_schema_reads_and_writes(tmp_path, file_name):
    """Opened directly, `ml.duckdb` has a catalog `ml` beside the schema `ml`, and DuckDB refuses
    `ml.example_scores` (and any view over `marts.x` in `marts.duckdb`) as ambiguous."""
    path = tmp_path / file_name
    warehouse = DuckDBWarehouse(path)
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [1.0, 2.0]))])
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [3.0]))])
    with connect_warehouse(path) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace view marts.example as select value from ml.example_scores")
    assert warehouse.read("select value from marts.example")["value"].tolist() == [3.0]
    assert warehouse.table_columns(SCORES.name) == ["client_id", "feature_date", "value"]


def test_connect_warehouse_read_only_refuses_writes(tmp_path):
    path = tmp_path / "w.duckdb"
    DuckDBWarehouse(path).replace_rows([TableWrite(SCORES, _rows("2024-01-31", [1.0]))])
    with connect_warehouse(path, read_only=True) as con:
        assert con.execute("select count(*) from ml.example_scores").fetchone()[0] == 1
        with pytest.raises(duckdb.Error):
            con.execute("delete from ml.example_scores")


def test_read_arrow_and_execute_take_parameters(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [1.0, 2.0, 3.0]))])
    table = warehouse.read_arrow(
        "select client_id, value from ml.example_scores where value > ? order by 1", [1.5]
    )
    assert table.column_names == ["client_id", "value"] and table.column("value").to_pylist() == [2.0, 3.0]
    assert warehouse.execute("update ml.example_scores set value = null where value < ?", [2.5]) == 2
    assert warehouse.execute("create table ml.other (x integer)") is None
    assert warehouse.read("select count(value) as n from ml.example_scores")["n"].iloc[0] == 1


def test_a_session_shares_one_connection_and_releases_the_file(tmp_path):
    """Inside session() every call uses one connection (a temp table one call creates, the next sees);
    after it, the file is free for another process's writer (dbt's) and calls open their own again."""
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.replace_rows([TableWrite(SCORES, _rows("2024-01-31", [1.0]))])
    with warehouse.session() as session:
        session.execute("create temp table seen as select 42 as answer")
        assert session.read_arrow("select answer from seen").to_pylist() == [{"answer": 42}]
        with session.session() as nested:  # a session inside a session is the same one
            assert nested.read("select answer from seen")["answer"].tolist() == [42]
    with pytest.raises(WarehouseError):
        warehouse.read("select answer from seen")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:  # nothing holds the file
        assert con.execute("select count(*) from ml.example_scores").fetchone() == (1,)
