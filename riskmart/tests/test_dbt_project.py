"""What the daily cycle's dbt builds leave to CI: the unit tests, and the not-null constraints that stand in
for not_null data tests on the contracted models."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from ingest.loader import ingest_landing
from riskmart.dbt import run_dbt
from riskmart.pipeline import DAILY_BUILD, SCORING_SELECTOR
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
    results = [
        r
        for r in json.loads((target / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("unit_test.")  # not the on-run-start hook
    ]
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


def _differing_rows(con: duckdb.DuckDBPyConnection, relation: str, left: str, right: str) -> int:
    """Rows of `relation` in database `left` that `right` does not have, and the other way round."""
    return sum(
        con.execute(
            f"select count(*) from (select * from {a}.{relation} except all select * from {b}.{relation})"  # noqa: S608
        ).fetchone()[0]
        for a, b in ((left, right), (right, left))
    )


@contextmanager
def _built_both_ways(
    demo_cycle, tmp_path: Path, change: Callable[[Path], None], dbt_args: list[str]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Two copies of the demo warehouse, each changed by `change(warehouse)` and then built with `dbt_args`:
    incrementally (`incremental`) and with --full-refresh (`refreshed`). Yields a connection with both and
    the untouched demo warehouse (`before`) attached."""
    warehouses = {}
    for name, refresh in (("incremental", []), ("refreshed", ["--full-refresh"])):
        settings = Settings(warehouse=tmp_path / name / "riskmart.duckdb")
        settings.warehouse.parent.mkdir()
        shutil.copy(demo_cycle.settings.warehouse, settings.warehouse)
        change(settings.warehouse)
        run_dbt(settings, [*dbt_args, *refresh], as_of=demo_cycle.as_of)
        warehouses[name] = settings.warehouse
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_cycle.settings.warehouse}' as before (read_only)")
        for name, path in warehouses.items():
            con.execute(f"attach '{path}' as {name} (read_only)")
        yield con


def test_a_seed_edit_rebuilds_every_date_of_the_incremental_marts(demo_cycle, tmp_path):
    """The risk team edits the timeliness curve and a rule weight: the next incremental run gives exactly what
    a full refresh gives, on every feature date, not only on the latest days it normally recomputes."""

    def edit_seeds(warehouse: Path) -> None:
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                "update seeds.payment_timeliness_curve set points = points / 2 where days_past_due > 0"
            )
            con.execute(
                "update seeds.rule_score_components set weight = weight * 3 where component = 'utilization'"
            )

    # dbt run does not reload seeds: the edited tables stand for an edited seed file after `dbt seed`
    with _built_both_ways(demo_cycle, tmp_path, edit_seeds, ["run", "--exclude", SCORING_SELECTOR]) as con:
        first_date = con.execute("select min(feature_date) from before.marts.fct_client_features").fetchone()[
            0
        ]
        for relation in ("marts.fct_client_features", "marts.fct_rule_scores"):
            changed_at_first_date = con.execute(
                f"select count(*) from (select * from before.{relation} where feature_date = ? except all"  # noqa: S608
                f" select * from incremental.{relation} where feature_date = ?)",
                [first_date, first_date],
            ).fetchone()[0]
            assert changed_at_first_date > 0, f"the edit changes {relation} on its oldest date too"
            assert _differing_rows(con, relation, "incremental", "refreshed") == 0


def test_a_late_correction_of_an_old_export_rebuilds_the_dates_it_changes(demo_cycle, tmp_path):
    """A payments file exported two months ago is delivered again, corrected (every amount halved): the next
    incremental build rebuilds the feature dates it touches, however old, and equals a full refresh."""
    landing = tmp_path / "landing"
    shutil.copytree(demo_cycle.landing, landing)
    old_export = demo_cycle.as_of - timedelta(days=60)
    corrected = landing / "payments" / f"payments_{old_export.isoformat()}.csv"
    with corrected.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the old export has payments to correct"
    for row in rows:
        row["payment_amount"] = f"{float(row['payment_amount']) / 2:.2f}"
    with corrected.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    def ingest_the_correction(warehouse: Path) -> None:
        loaded = ingest_landing(landing, warehouse, as_of=demo_cycle.as_of)
        assert [f["file"] for f in loaded.files] == [f"payments/{corrected.name}"]

    daily_build = [*DAILY_BUILD, "--exclude", SCORING_SELECTOR]
    with _built_both_ways(demo_cycle, tmp_path, ingest_the_correction, daily_build) as con:
        changed_dates = con.execute(
            "select count(distinct feature_date) from (select * from before.marts.fct_client_features"
            " except all select * from incremental.marts.fct_client_features) where feature_date < ?",
            [demo_cycle.as_of - timedelta(days=31)],
        ).fetchone()[0]
        assert changed_dates > 0, "the correction changes month-end dates older than the daily ones"
        for relation in ("marts.fct_client_features", "marts.fct_rule_scores"):
            assert _differing_rows(con, relation, "incremental", "refreshed") == 0
