"""What the daily cycle's dbt builds leave to CI: the unit tests, and the not-null constraints that stand in
for not_null data tests on the contracted models."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from riskmart.dbt import run_dbt
from riskmart.settings import Settings

pytestmark = pytest.mark.slow


def test_every_dbt_unit_test_passes(demo_cycle, tmp_path):
    """The daily builds exclude unit tests (they check SQL logic on fixed inputs); this runs all of them."""
    settings = Settings(warehouse=tmp_path / "riskmart.duckdb")
    shutil.copy(demo_cycle.settings.warehouse, settings.warehouse)
    run_dbt(settings, ["test", "--select", "test_type:unit"], as_of=demo_cycle.as_of)

    target = tmp_path / "dbt" / "target"
    declared = [
        uid for uid in json.loads((target / "manifest.json").read_text())["unit_tests"] if ".riskmart." in uid
    ]
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert len(declared) >= 20, "the project's unit tests were not found"
    assert sorted(r["unique_id"] for r in results) == sorted(declared)
    assert {r["status"] for r in results} == {"pass"}


@pytest.mark.parametrize(
    "relation",
    [
        "marts.fct_client_features",
        "marts.fct_rule_scores",
        "marts.ml_training_set",
        "marts.fct_client_scores",
        "intermediate.int_client_payment_features",
    ],
)
def test_contracted_models_refuse_a_null_key(demo_cycle, tmp_path, relation):
    """Contracted models carry enforced not-null constraints instead of not_null tests: the table itself
    refuses a row without a client, on incremental inserts too."""
    warehouse = tmp_path / "copy.duckdb"
    shutil.copy(demo_cycle.settings.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create temp table probe as select * from {relation} limit 1")  # noqa: S608 (constants)
        assert con.execute("select count(*) from probe").fetchone()[0] == 1
        con.execute("update probe set client_id = null")
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL constraint failed"):
            con.execute(f"insert into {relation} select * from probe")  # noqa: S608 (constants)
