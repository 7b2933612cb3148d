"""The feature mart is point in time, as the data contract defines it, and its incremental build equals a
full build.

One small generated export (restated utilization months, updated payment plans, status changes) is loaded
whole into warehouse A and only up to an export date t into warehouse B, and both are built with dbt. Every
feature of every (client, feature date <= t) the two marts share must be identical. Then B receives the rest
of the export and is built again incrementally: it must equal A row for row.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.demo_data import generate_demo_data
from ingest.loader import ingest_landing
from riskmart.dbt import run_dbt
from riskmart.settings import Settings

END_DATE = date(2026, 6, 30)
# Events count by business date and may be delivered up to 6 days later (7-day export windows), so t is at
# least 6 days after the last month end the two marts share.
CUTOFF = date(2026, 5, 6)
MARTS = ("+fct_client_features", "+fct_rule_scores", "+ml_training_set")
KEYS = ("client_id", "feature_date")

pytestmark = pytest.mark.slow


def _build(settings: Settings, work: Path, name: str, as_of: date | None, command: str = "run") -> Path:
    """dbt run (or build, with the tests) of the feature marts and everything upstream; returns the target."""
    target = work / f"target_{name}"
    args = [command, "--select", *MARTS, "--target-path", str(target), "--log-path", str(work / "logs")]
    try:
        run_dbt(settings, args, dbt_vars={"as_of_date": as_of.isoformat()} if as_of else None)
    finally:
        _release_dbt_duckdb()
    return target


def _release_dbt_duckdb() -> None:
    """dbt-duckdb keeps its database open in the process after a run; close it so the test can attach it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = 'marts'"
        " and table_name = ? order by column_index",
        [database, table],
    ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("point_in_time")
    landing = work / "landing"
    generate_demo_data(
        landing=landing,
        truth=work / "truth",
        clients=250,
        months=6,
        end_date=END_DATE,
        seed=11,
        dirty_rate=0.0,
        shift_months=0,
    )
    whole = Settings(warehouse=work / "a" / "whole.duckdb", landing=landing)
    cut = Settings(warehouse=work / "b" / "cut.duckdb", landing=landing)
    ingest_landing(landing, whole.warehouse)
    ingest_landing(landing, cut.warehouse, as_of=CUTOFF)
    # warehouse A is also built with every data test and unit test, on real generated data
    _build(whole, work, "a", None, command="build")
    _build(cut, work, "b", CUTOFF)
    return {"work": work, "landing": landing, "whole": whole, "cut": cut}


def _connect(warehouses: dict) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{warehouses['whole'].warehouse}' as a (read_only)")
    con.execute(f"attach '{warehouses['cut'].warehouse}' as b (read_only)")
    return con


def test_the_export_restates_rows_across_the_cutoff(warehouses: dict) -> None:
    """The test is only a proof if rows known at t change after t: months, plans and client snapshots."""
    with _connect(warehouses) as con:
        restated_months = con.execute(
            "select count(*) from (select utilization_id from a.staging.stg_lender__utilization_months"
            " group by utilization_id having count(distinct case when export_date <= ? then utilization_pct end) > 0"
            " and count(distinct utilization_pct) > count(distinct case when export_date <= ? then utilization_pct end))",
            [CUTOFF, CUTOFF],
        ).fetchone()[0]
        updated_plans = con.execute(
            "select count(*) from (select plan_id from a.staging.stg_lender__payment_plans group by plan_id"
            " having min(export_date) <= ? and count(distinct plan_status) > count(distinct case"
            " when export_date <= ? then plan_status end))",
            [CUTOFF, CUTOFF],
        ).fetchone()[0]
        changed_clients = con.execute(
            "select count(*) from (select client_id from a.staging.stg_lender__clients group by client_id"
            " having min(export_date) <= ? and count(distinct (account_status, current_credit_limit))"
            " > count(distinct case when export_date <= ? then (account_status, current_credit_limit) end))",
            [CUTOFF, CUTOFF],
        ).fetchone()[0]
    assert restated_months > 0, "no utilization month restated after the cutoff"
    assert updated_plans > 0, "no payment plan changed state after the cutoff"
    assert changed_clients > 0, "no client changed status or limit after the cutoff"


def test_features_up_to_t_are_identical_with_and_without_later_files(warehouses: dict) -> None:
    with _connect(warehouses) as con:
        assert (
            con.execute("select max(feature_date) from b.marts.fct_client_features").fetchone()[0] == CUTOFF
        )
        for table in ("fct_client_features", "fct_rule_scores"):
            columns = _columns(con, "a", table)
            assert columns == _columns(con, "b", table)
            shared = (
                f"from a.marts.{table} as x inner join b.marts.{table} as y using (client_id, feature_date)"  # noqa: S608
                " where x.feature_date <= ?"
            )
            overlap = con.execute(f"select count(*) {shared}", [CUTOFF]).fetchone()[0]
            assert overlap >= 300, f"{table}: only {overlap} rows to compare"
            differing = {}
            for column in columns:
                if column in KEYS:
                    continue
                n = con.execute(
                    f"select count(*) {shared} and x.{column} is distinct from y.{column}", [CUTOFF]
                ).fetchone()[0]
                if n:
                    differing[column] = n
            assert differing == {}, f"{table}: columns that differ at feature dates <= {CUTOFF}: {differing}"
            # the same clients at every shared date: later files add no client to a past date, nor remove one
            missing = con.execute(
                f"select count(*) from a.marts.{table} as x where x.feature_date <= ?"  # noqa: S608
                f" and x.feature_date in (select feature_date from b.marts.{table})"
                f" and (x.client_id, x.feature_date) not in (select (client_id, feature_date) from b.marts.{table})",
                [CUTOFF],
            ).fetchone()[0]
            assert missing == 0, f"{table}: {missing} rows of A at shared dates are not in B"


def test_an_incremental_build_equals_a_full_build(warehouses: dict) -> None:
    cut = warehouses["cut"]
    ingest_landing(warehouses["landing"], cut.warehouse)
    target = _build(cut, warehouses["work"], "b_incremental", None)
    # dbt took the incremental path: it deleted and inserted feature dates instead of recreating the table
    statement = (
        (target / "run" / "riskmart" / "models" / "marts" / "fct_client_features.sql").read_text().lower()
    )
    assert "delete from" in statement and "insert into" in statement
    with _connect(warehouses) as con:
        for table in ("fct_client_features", "fct_rule_scores", "ml_training_set"):
            for left, right in (("a", "b"), ("b", "a")):
                extra = con.execute(
                    f"select count(*) from (select * from {left}.marts.{table}"  # noqa: S608
                    f" except all select * from {right}.marts.{table})"
                ).fetchone()[0]
                assert extra == 0, f"{table}: {extra} rows of {left} are not in {right}"
