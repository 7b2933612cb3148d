"""The DuckDB warehouse: typed tables, replace by key, all-or-nothing writes, connections closed."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ml.warehouse import DuckDBWarehouse, TableSpec, TableWrite

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
