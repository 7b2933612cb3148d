"""The dbt project on BigQuery, proven against a local emulator (bqemulator, riskmart/tests/bigquery_emulator.py)
through the profile's `emulator` target: dbt-bigquery's SQL, load jobs and strategies, not BigQuery's cost,
partition pruning or IAM (README, "Running on BigQuery"). `pytest -k bigquery` selects these tests."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import pytest

from riskmart.dbt import run_dbt
from riskmart.settings import PROJECT_DIR, Settings
from riskmart.tests.bigquery_emulator import Emulator, running_emulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bigquery_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator on 127.0.0.1 with the profile's `emulator` target pointed at it."""
    with running_emulator(tmp_path_factory.mktemp("bigquery_emulator") / "emulator.log") as emulator:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in emulator.dbt_env().items():
                patch.setenv(name, value)
            yield emulator


def test_bigquery_seeds_load_with_bigquery_types(bigquery_emulator: Emulator, tmp_path) -> None:
    """Every seed loads through dbt-bigquery's load job, its doubles as FLOAT64 and its text as STRING, with
    the CSV's values."""
    settings = Settings(warehouse=tmp_path / "unused.duckdb", dbt_target="emulator")
    run_dbt(settings, ["seed"], quiet=True)
    client = bigquery_emulator.client()
    table = client.get_table(f"{bigquery_emulator.project}.seeds.rule_score_components")
    types = {field.name: field.field_type for field in table.schema}
    assert types["weight"] in {"FLOAT", "FLOAT64"} and types["component"] == "STRING", types
    with (PROJECT_DIR / "seeds" / "features" / "rule_score_components.csv").open(encoding="utf-8") as handle:
        expected = {row["component"]: float(row["weight"]) for row in csv.DictReader(handle)}
    loaded = client.query(
        f"select component, weight from `{bigquery_emulator.project}.seeds.rule_score_components`"
    ).result()
    assert {row.component: row.weight for row in loaded} == expected
