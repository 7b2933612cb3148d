"""The engine follows the dbt target: its `type` in profiles/profiles.yml picks DuckDB or BigQuery for every
Python layer, and the BigQuery settings reach dbt through the same RISKMART_BQ_* variables its profile reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.warehouse import BigQueryWarehouse, DuckDBWarehouse, open_warehouse
from riskmart.bigquery import bigquery_client
from riskmart.runlock import run_lock_path
from riskmart.settings import Settings, SettingsError

BQ_VARIABLES = (
    "RISKMART_BQ_PROJECT",
    "RISKMART_BQ_DATASET",
    "RISKMART_BQ_LOCATION",
    "RISKMART_BQ_METHOD",
    "RISKMART_BQ_KEYFILE",
    "RISKMART_BQ_API_ENDPOINT",
)


@pytest.fixture(autouse=True)
def _no_bigquery_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*BQ_VARIABLES, "RISKMART_DBT_TARGET", "RISKMART_LOCK_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("target", "engine"),
    [("dev", "duckdb"), ("ci", "duckdb"), ("prod", "bigquery"), ("emulator", "bigquery")],
)
def test_the_engine_is_the_type_of_the_dbt_target(target: str, engine: str) -> None:
    assert Settings(dbt_target=target).engine == engine


def test_an_unknown_target_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(SettingsError, match=r"'staging' is not in profiles/profiles.yml.*dev, ci, prod"):
        Settings(dbt_target="staging").engine  # noqa: B018


def test_every_variable_the_profile_reads_is_passed_to_dbt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    profile = (Settings().dbt_project_dir / "profiles" / "profiles.yml").read_text(encoding="utf-8")
    read_by_profile = {name for name in BQ_VARIABLES if f"env_var('{name}'" in profile}
    assert read_by_profile == set(BQ_VARIABLES)
    values = {
        "RISKMART_BQ_PROJECT": "lender-prod",
        "RISKMART_BQ_DATASET": "risk",
        "RISKMART_BQ_LOCATION": "EU",
        "RISKMART_BQ_METHOD": "service-account",
        "RISKMART_BQ_KEYFILE": str(tmp_path / "key.json"),
        "RISKMART_BQ_API_ENDPOINT": "http://127.0.0.1:1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    assert {k: v for k, v in Settings(dbt_target="prod").dbt_env().items() if k in values} == values
    # unset, the profile's own defaults hold: nothing is passed for the project, key file or endpoint
    for name in values:
        monkeypatch.delenv(name)
    env = Settings(dbt_target="prod").dbt_env()
    assert not {"RISKMART_BQ_PROJECT", "RISKMART_BQ_KEYFILE", "RISKMART_BQ_API_ENDPOINT"} & set(env)
    assert (env["RISKMART_BQ_DATASET"], env["RISKMART_BQ_LOCATION"], env["RISKMART_BQ_METHOD"]) == (
        "riskmart",
        "US",
        "oauth",
    )


def test_a_bigquery_client_needs_a_project_and_a_key_file() -> None:
    with pytest.raises(SettingsError, match="no project is set") as missing:
        bigquery_client(Settings(dbt_target="prod"))
    assert "RISKMART_BQ_PROJECT" in missing.value.hint
    with pytest.raises(SettingsError, match="key file .* does not exist") as no_key:
        bigquery_client(Settings(dbt_target="prod", bq_project="p", bq_method="service-account"))
    assert "RISKMART_BQ_KEYFILE" in no_key.value.hint


def test_the_emulator_endpoint_gets_an_anonymous_client_of_the_project() -> None:
    settings = Settings(dbt_target="emulator", bq_project="p1", bq_api_endpoint="http://127.0.0.1:9")
    warehouse = open_warehouse(settings)
    assert isinstance(warehouse, BigQueryWarehouse)
    assert (warehouse.project, warehouse.location, warehouse.client.project) == ("p1", "US", "p1")
    assert isinstance(open_warehouse(Settings(dbt_target="dev")), DuckDBWarehouse)


def test_the_run_lock_of_a_bigquery_target_is_a_local_file(tmp_path: Path) -> None:
    duck = Settings(warehouse=tmp_path / "w" / "riskmart.duckdb")
    assert run_lock_path(duck) == tmp_path / "w" / "riskmart.duckdb.lock"
    bigquery = Settings(warehouse=tmp_path / "w" / "unused.duckdb", dbt_target="prod", bq_project="lender")
    assert run_lock_path(bigquery) == tmp_path / "w" / "riskmart-bigquery-lender.lock"
    moved = Settings(dbt_target="prod", bq_project="lender", lock_dir=tmp_path / "locks")
    assert run_lock_path(moved) == tmp_path / "locks" / "riskmart-bigquery-lender.lock"


def test_ingest_writes_where_the_engine_is(tmp_path: Path) -> None:
    """The daily cycle's and `riskmart ingest`'s destination: the DuckDB file, or on a BigQuery target the
    raw dataset of the project through ingest's BigQueryRawWriter (proven on the emulator in ingest/tests)."""
    from ingest.bigquery import BigQueryRawWriter
    from riskmart.pipeline import ingest_destination

    duck = Settings(warehouse=tmp_path / "riskmart.duckdb")
    assert ingest_destination(duck) == tmp_path / "riskmart.duckdb"
    bigquery = ingest_destination(
        Settings(dbt_target="emulator", bq_project="p1", bq_api_endpoint="http://127.0.0.1:9")
    )
    assert isinstance(bigquery, BigQueryRawWriter)
    assert (bigquery.project, bigquery.dataset, bigquery.location) == ("p1", "raw", "US")


def test_a_landing_url_stays_a_url_and_a_folder_is_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """RISKMART_LANDING (or --landing) may be an object store URL: it stays text, `gs://bucket` intact (a Path
    would fold it into `gs:/bucket`); a folder is a Path; demo data, written to a folder, refuses a URL."""
    monkeypatch.setenv("RISKMART_LANDING", "gs://lender-exports/daily")
    settings = Settings()
    assert settings.landing == "gs://lender-exports/daily"
    with pytest.raises(SettingsError, match="is a URL, not a local folder"):
        _ = settings.truth_dir
    assert Settings(landing="data/landing").landing == Path("data/landing")
    assert Settings(landing="file:///srv/landing").landing == Path("/srv/landing")


def test_a_landing_url_that_cannot_be_listed_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from riskmart.cli import app
    from riskmart.operations import ExitCode

    warehouse = str(tmp_path / "w.duckdb")
    for landing, said in (
        ("memory://nothing-here/landing", "landing folder memory://nothing-here/landing does not exist"),
        ("nosuchscheme://bucket/landing", "cannot list the landing nosuchscheme://bucket/landing"),
    ):
        result = CliRunner().invoke(app, ["ingest", "--landing", landing, "--warehouse", warehouse])
        output = " ".join(result.output.split())
        assert result.exit_code == ExitCode.USAGE and said in output and "what to do:" in output, output
