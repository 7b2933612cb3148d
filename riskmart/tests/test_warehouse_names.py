"""A warehouse file may be called anything, also like one of riskmart's schemas.

DuckDB names a file's catalog after the file, so in `ml.duckdb` the name `ml.ml_scores` is ambiguous, and a
view dbt writes over `marts.x` in `marts.duckdb` cannot be created. Every layer therefore opens the file
under the catalog name `riskmart` (profiles/profiles.yml, ml.warehouse.connect_warehouse).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DEMO_END_DATE, write_demo_export
from ml.warehouse import connect_warehouse
from riskmart.cli import app
from riskmart.publish import current_snapshot


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_demo_export(tmp_path_factory.mktemp("schema_named_warehouses"))


@pytest.mark.slow
@pytest.mark.parametrize("schema", ["ml", "marts", "raw", "staging"])
def test_full_run_on_a_warehouse_named_like_a_schema(demo_export, tmp_path, monkeypatch, schema):
    landing, truth = demo_export
    monkeypatch.setenv("RISKMART_TRUTH", str(truth))
    warehouse = tmp_path / f"{schema}.duckdb"
    runner = CliRunner()
    common = ["--landing", str(landing), "--warehouse", str(warehouse)]

    run = runner.invoke(app, ["run", *common, "--as-of", DEMO_END_DATE.isoformat()])
    assert run.exit_code == 0, run.output
    # a second ingest finds the raw schema in place and nothing new to load
    again = runner.invoke(app, ["ingest", *common])
    assert again.exit_code == 0, again.output
    assert "nothing new to load" in again.output

    with connect_warehouse(warehouse, read_only=True) as con:
        features = con.execute(
            "select count(*) from marts.fct_client_features where feature_date = ?", [DEMO_END_DATE]
        ).fetchone()[0]
        scored = con.execute(
            "select count(*), count(*) filter (where scored_by = 'model') from marts.fct_client_scores"
            " where score_date = ?",
            [DEMO_END_DATE],
        ).fetchone()
        champions = con.execute(
            "select count(*) from ml.ml_model_registry where status = 'champion'"
        ).fetchone()[0]
        training_rows = con.execute("select count(*) from marts.ml_training_set").fetchone()[0]
    assert features > 100 and scored[0] == features
    assert scored[1] > 0 and champions == 1, "the ML layer trained and scored in this warehouse"
    assert training_rows > 0, "the views dbt wrote read back"
    assert current_snapshot(tmp_path / "published") is not None


def test_every_layer_attaches_the_warehouse_under_one_catalog_name(tmp_path):
    import yaml

    import ingest.warehouse
    import ml.warehouse
    from riskmart.settings import PROJECT_DIR

    profile = yaml.safe_load((PROJECT_DIR / "profiles" / "profiles.yml").read_text())
    duckdb_targets = [t for t in profile["riskmart"]["outputs"].values() if t["type"] == "duckdb"]
    assert duckdb_targets
    for target in duckdb_targets:
        assert target["database"] == target["attach"][0]["alias"] == ml.warehouse.WAREHOUSE_CATALOG
    assert ingest.warehouse.WAREHOUSE_CATALOG == ml.warehouse.WAREHOUSE_CATALOG
    path = tmp_path / "raw.duckdb"
    for connect in (ingest.warehouse.connect_warehouse, ml.warehouse.connect_warehouse):
        with connect(path) as con:
            assert con.execute("select current_database()").fetchone()[0] == "riskmart"
