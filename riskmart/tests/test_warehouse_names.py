"""A warehouse file may be called anything, also like one of riskmart's schemas.

DuckDB names a file's catalog after the file, so in `ml.duckdb` the name `ml.ml_scores` is ambiguous, and a
view dbt writes over `marts.x` in `marts.duckdb` cannot be created. Every layer therefore opens the file
under the catalog name `riskmart` (profiles/profiles.yml, ml.warehouse.connect_warehouse).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DEMO_END_DATE, write_demo_export
from ml.warehouse import connect_warehouse
from riskmart.cli import app
from riskmart.pipeline import SCORING_SELECTOR
from riskmart.publish import current_snapshot

AS_OF = DEMO_END_DATE.isoformat()


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_demo_export(tmp_path_factory.mktemp("schema_named_warehouses"))


@pytest.fixture(scope="module")
def ml_named_run(demo_export, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole cycle (`riskmart run`) on a warehouse file named ml.duckdb, as in the issue: its folder."""
    landing, truth = demo_export
    folder = tmp_path_factory.mktemp("ml_named")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RISKMART_TRUTH", str(truth))
        run = CliRunner().invoke(
            app,
            ["run", "--landing", str(landing), "--warehouse", str(folder / "ml.duckdb"), "--as-of", AS_OF],
        )
    assert run.exit_code == 0, run.output
    return folder


def _scores_and_champions(warehouse: Path) -> tuple[int, int, int]:
    with connect_warehouse(warehouse, read_only=True) as con:
        scored = con.execute(
            "select count(*), count(*) filter (where scored_by = 'model') from marts.fct_client_scores"
            " where score_date = ?",
            [DEMO_END_DATE],
        ).fetchone()
        champions = con.execute(
            "select count(*) from ml.ml_model_registry where status = 'champion'"
        ).fetchone()[0]
    return scored[0], scored[1], champions


@pytest.mark.slow
def test_full_run_on_a_warehouse_named_ml(demo_export, ml_named_run):
    landing, _ = demo_export
    warehouse = ml_named_run / "ml.duckdb"
    # a second ingest finds the raw schema in place and nothing new to load
    again = CliRunner().invoke(app, ["ingest", "--landing", str(landing), "--warehouse", str(warehouse)])
    assert again.exit_code == 0, again.output
    assert "nothing new to load" in again.output

    with connect_warehouse(warehouse, read_only=True) as con:
        features = con.execute(
            "select count(*) from marts.fct_client_features where feature_date = ?", [DEMO_END_DATE]
        ).fetchone()[0]
        training_rows = con.execute("select count(*) from marts.ml_training_set").fetchone()[0]
    scored, by_model, champions = _scores_and_champions(warehouse)
    assert features > 100 and scored == features
    assert by_model > 0 and champions == 1, "the ML layer trained and scored in this warehouse"
    assert training_rows > 0, "the views dbt wrote read back"
    assert current_snapshot(ml_named_run / "published") is not None


@pytest.mark.slow
def test_scoring_building_and_publishing_on_a_warehouse_named_marts(ml_named_run, tmp_path):
    """The cycle's steps after the feature build on marts.duckdb (the ml.duckdb warehouse, copied and renamed):
    the ML layer reads marts.* and writes ml.*, dbt writes the scored mart and its views, the publisher
    reads marts.*."""
    folder = tmp_path / "marts_named"
    shutil.copytree(ml_named_run, folder, ignore=shutil.ignore_patterns("*.lock", "published", "dbt"))
    warehouse = folder / "marts.duckdb"
    (folder / "ml.duckdb").rename(warehouse)
    with connect_warehouse(warehouse) as con:
        con.execute("delete from marts.fct_client_scores")
    runner = CliRunner()
    common = ["--warehouse", str(warehouse)]
    for args in (
        ["score", *common, "--date", AS_OF],
        ["build", *common, "--select", SCORING_SELECTOR],
        ["publish", *common, "--publish-dir", str(folder / "published")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{args[0]}: {result.output}"
    scored, by_model, champions = _scores_and_champions(warehouse)
    assert scored > 100 and by_model > 0 and champions == 1
    assert current_snapshot(folder / "published") is not None


@pytest.mark.slow
@pytest.mark.parametrize("schema", ["raw", "staging"])
def test_ingest_and_staging_build_on_a_warehouse_named_like_a_schema(tmp_path, schema):
    """Ingest writes raw.*, and dbt's staging models read raw.* and write staging.*, in raw.duckdb and
    staging.duckdb (a small export: what matters is the names)."""
    landing, _ = write_demo_export(tmp_path, clients=40, months=2)
    warehouse = tmp_path / f"{schema}.duckdb"
    runner = CliRunner()
    ingest = runner.invoke(app, ["ingest", "--landing", str(landing), "--warehouse", str(warehouse)])
    assert ingest.exit_code == 0, ingest.output
    build = runner.invoke(app, ["build", "--warehouse", str(warehouse), "--select", "path:models/staging"])
    assert build.exit_code == 0, build.output

    with connect_warehouse(warehouse, read_only=True) as con:
        raw_clients = con.execute("select count(distinct client_id) from raw.clients").fetchone()[0]
        staged = con.execute("select count(distinct client_id) from staging.stg_lender__clients").fetchone()[
            0
        ]
    assert raw_clients >= 40 and staged >= 40


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
