"""The feature mart is point in time, as the data contract defines it, and its incremental build equals a
full build.

One small generated export (restated utilization months, updated payment plans, status changes) is loaded
whole into warehouse A and only up to an export date t into warehouse B, and both are built with dbt with a
feature date for every day. Every feature of every (client, feature date <= t) the two marts share must be
identical. Then B receives the rest of the export and is built again, incrementally and with the default
spine: it must equal A on every row it holds, and hold exactly A's rows for its dates.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from demo.generate import generate_demo_data
from ingest.loader import ingest_landing
from riskmart.dbt import run_dbt
from riskmart.settings import Settings

END_DATE = date(2026, 6, 30)
CUTOFF = date(2026, 5, 6)
# Payments and orders count by business date and may be delivered up to 6 days later (the contract's
# 7-day export windows): features built from them may legitimately change for the 6 days before t.
LATE_ARRIVAL = timedelta(days=6)
EVENTS_SETTLED = CUTOFF - LATE_ARRIVAL
# Every day is a feature date, so a lookahead of even one day would show.
EVERY_DAY = {"daily_feature_days": 400}
MARTS = ("+fct_client_features", "+fct_rule_scores", "+ml_training_set")
KEYS = ("client_id", "feature_date")
# Features of restated rows (client snapshots, utilization months, payment plans) and bureau reports, known
# by export or report date: identical up to t itself.
RESTATED_FEATURES = (
    "is_month_end",
    "industry",
    "account_status",
    "tenure_months",
    "credit_limit",
    "outstanding",
    "utilization_ratio_now",
    "utilization_ratio_avg_3m",
    "utilization_ratio_max_3m",
    "utilization_ratio_avg_6m",
    "utilization_ratio_max_6m",
    "months_near_limit_6m",
    "months_over_limit_6m",
    "credit_limit_changes_6m",
    "credit_limit_net_change_6m",
    "payment_plan_count",
    "active_payment_plans",
    "completed_payment_plans",
    "defaulted_payment_plans",
    "months_since_last_plan",
    "has_bureau_report",
    "bureau_score",
    "bureau_defaults",
    "external_debt",
    "active_credits",
    "bureau_rejected",
    "bureau_report_age_days",
)

pytestmark = pytest.mark.slow


def _build(settings: Settings, dbt_vars: dict | None, with_tests: bool = False) -> Path:
    """dbt build of the feature marts and everything upstream (seeds and models; with_tests also their data
    and unit tests); returns dbt's target folder (run_dbt keeps one beside each warehouse)."""
    args = ["build", "--select", *MARTS]
    if not with_tests:
        args += ["--resource-type", "model", "--resource-type", "seed"]
    run_dbt(settings, args, dbt_vars=dbt_vars)
    return settings.warehouse.resolve().parent / "dbt" / "target"


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
    _build(whole, EVERY_DAY, with_tests=True)
    _build(cut, {**EVERY_DAY, "as_of_date": CUTOFF.isoformat()})
    return {"work": work, "landing": landing, "whole": whole, "cut": cut}


def _connect(warehouses: dict) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{warehouses['whole'].warehouse}' as a (read_only)")
    con.execute(f"attach '{warehouses['cut'].warehouse}' as b (read_only)")
    return con


def test_the_export_restates_rows_across_the_cutoff(warehouses: dict) -> None:
    """The comparison only proves something if rows known at t change after t."""
    with _connect(warehouses) as con:
        restated_months, updated_plans, changed_clients = (
            con.execute(
                f"select count(*) from (select {key} from a.staging.{model} group by {key}"  # noqa: S608
                f" having min(export_date) <= ? and count(distinct {value}) >"
                f" count(distinct case when export_date <= ? then {value} end))",
                [CUTOFF, CUTOFF],
            ).fetchone()[0]
            for model, key, value in (
                ("stg_lender__utilization_months", "utilization_id", "utilization_pct"),
                ("stg_lender__payment_plans", "plan_id", "plan_status"),
                ("stg_lender__clients", "client_id", "(account_status, current_credit_limit)"),
            )
        )
    assert restated_months > 0, "no utilization month known at t is restated after it"
    assert updated_plans > 0, "no payment plan known at t changes state after it"
    assert changed_clients > 0, "no client known at t changes status or limit after it"


def test_features_up_to_t_are_identical_with_and_without_later_files(warehouses: dict) -> None:
    with _connect(warehouses) as con:
        dates = con.execute("select min(feature_date), max(feature_date) from b.marts.fct_client_features")
        assert dates.fetchone()[1] == CUTOFF
        for table in ("fct_client_features", "fct_rule_scores"):
            columns = _columns(con, "a", table)
            assert columns == _columns(con, "b", table)
            shared = (
                f"from a.marts.{table} as x inner join b.marts.{table} as y using (client_id, feature_date)"  # noqa: S608
                " where x.feature_date <= ?"
            )
            overlap = con.execute(
                f"select count(*), count(distinct feature_date) {shared}", [CUTOFF]
            ).fetchone()
            assert overlap[0] >= 1000 and overlap[1] >= 100, (
                f"{table}: only {overlap} rows and dates to compare"
            )
            differing = {}
            for column in columns:
                if column in KEYS:
                    continue
                # every feature up to the last date whose events are all delivered by t; restated ones up to t
                until = CUTOFF if column in RESTATED_FEATURES else EVENTS_SETTLED
                n = con.execute(
                    f"select count(*) {shared} and x.{column} is distinct from y.{column}", [until]
                ).fetchone()[0]
                if n:
                    differing[column] = n
            assert differing == {}, f"{table}: rows that differ, by column: {differing}"
            # the same clients at every date up to t: later files add no client to a past date, nor remove one
            unmatched = con.execute(
                f"select count(*) from (select client_id, feature_date from a.marts.{table}"  # noqa: S608
                f" where feature_date <= ? except select client_id, feature_date from b.marts.{table})",
                [CUTOFF],
            ).fetchone()[0]
            assert unmatched == 0, f"{table}: {unmatched} rows of A up to t are not in B"


def test_an_incremental_build_equals_a_full_build(warehouses: dict) -> None:
    cut = warehouses["cut"]
    ingest_landing(warehouses["landing"], cut.warehouse)
    target = _build(cut, None)
    # dbt took the incremental path: it deleted and inserted feature dates instead of recreating the table
    statement = (target / "run" / "riskmart" / "models" / "marts" / "fct_client_features.sql").read_text()
    assert "delete from" in statement.lower() and "insert into" in statement.lower()
    with _connect(warehouses) as con:
        # B keeps the default spine (month ends, the latest 31 days), A has every day; the invoices B built
        # incrementally (those of the rest of the export) are A's whatever the spine
        compared = {
            f"marts.{table}": f"feature_date in (select feature_date from b.marts.{table})"
            for table in ("fct_client_features", "fct_rule_scores", "ml_training_set")
        } | {"intermediate.int_invoices": "true"}
        for relation, in_b in compared.items():
            for left, right in (("a", "b"), ("b", "a")):
                extra = con.execute(
                    f"select count(*) from (select * from {left}.{relation} where {in_b}"  # noqa: S608
                    f" except all select * from {right}.{relation} where {in_b})"
                ).fetchone()[0]
                assert extra == 0, f"{relation}: {extra} rows of {left} are not in {right}"
        dates = {
            row[0]: row[1]
            for row in con.execute(
                "select distinct feature_date, is_month_end from b.marts.fct_client_features"
            ).fetchall()
        }
    # the spine of a default build: month ends, and every one of the latest 31 days (the older ones pruned)
    latest_days = {END_DATE - timedelta(days=n) for n in range(31)}
    assert latest_days <= dates.keys()
    assert all(is_month_end for day, is_month_end in dates.items() if day not in latest_days)
