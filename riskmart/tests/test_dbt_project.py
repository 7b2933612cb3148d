"""What the daily cycle's dbt builds leave to CI: the unit tests, the not-null constraints that stand in
for not_null data tests on the contracted models, and the column_checks tests that stand in for per-column
not_null, accepted_range, accepted_values and unique tests and for per-relation unique_combination_of_columns
and expression_is_true tests."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from ingest.loader import ingest_landing
from riskmart.dbt import DbtError, run_dbt
from riskmart.pipeline import DAILY_FEATURE_BUILD, SCORING_SELECTOR
from riskmart.settings import PROJECT_DIR, Settings

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
        "marts.fct_client_scores",
        "intermediate.int_client_payment_features",
    ],
)
def test_contracted_models_refuse_a_null_key(demo_cycle, tmp_path, relation):
    """Contracted models carry enforced not-null constraints instead of not_null tests: the table itself
    refuses a row without a client, on incremental inserts too. (ml_training_set is a view: its feature
    columns are fct_client_features' own, whose constraints this checks.)"""
    warehouse = tmp_path / "copy.duckdb"
    shutil.copy(demo_cycle.settings.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create temp table probe as select * from {relation} limit 1")  # noqa: S608 (constants)
        assert con.execute("select count(*) from probe").fetchone()[0] == 1
        con.execute("update probe set client_id = null")
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL constraint failed"):
            con.execute(f"insert into {relation} select * from probe")  # noqa: S608 (constants)


# The checks each relation's columns declare, by kind: what its per-column tests were before column_checks
# replaced them. A change here is a change of the checks themselves.
DECLARED_CHECKS = {
    "applicant_scoring_query": {"not_null": 2, "unique": 1},
    "metricflow_time_spine": {"not_null": 1, "unique": 1},
    "fct_client_features": {"accepted_range": 52, "accepted_values": 2},
    "fct_client_scores": {"accepted_range": 5, "accepted_values": 5},
    "fct_rule_scores": {"accepted_range": 20, "accepted_values": 1},
    "feature_parameters": {"accepted_values": 1, "not_null": 2, "unique": 1},
    "hcpn.hcpn_reports": {"not_null": 3},
    "ingest.ingest_log": {"accepted_values": 1, "not_null": 2, "unique": 1},
    "int_client_credit_limit_changes": {"not_null": 2},
    "int_client_feature_dates": {"accepted_range": 1},
    "int_clients_current": {"unique": 1},
    "int_default_events": {"accepted_values": 1, "not_null": 3},
    "int_default_labels": {"accepted_values": 1, "not_null": 4},
    "int_delivery_impact": {"unique": 1},
    "int_feature_dates": {"not_null": 4, "unique": 1},
    "int_invoices": {"not_null": 8, "unique": 1},
    "int_no_history_features": {"not_null": 29},
    "int_payments_scored": {"accepted_range": 1, "not_null": 3, "unique": 1},
    "int_utilization_months_current": {"unique": 1},
    "lender.clients": {"not_null": 2},
    "lender.orders": {"not_null": 2},
    "lender.payment_plans": {"not_null": 2},
    "lender.payments": {"not_null": 2},
    "lender.utilization_monthly": {"not_null": 2},
    "ml_training_set": {"accepted_values": 1},
    "mon_alerts": {"accepted_values": 2},
    "mon_feature_bins": {"accepted_range": 2, "accepted_values": 1},
    "mon_feature_drift": {"accepted_range": 5, "accepted_values": 3},
    "mon_model_calibration": {"accepted_range": 3, "accepted_values": 1},
    "mon_model_performance": {"accepted_range": 7, "accepted_values": 2},
    "mon_score_drift": {"accepted_range": 3, "accepted_values": 2},
    "mon_score_mix": {"accepted_range": 2, "accepted_values": 1},
    "monitored_features": {"accepted_values": 1, "not_null": 4, "unique": 1},
    "monitoring_parameters": {"not_null": 2, "unique": 1},
    "payment_timeliness_curve": {"not_null": 2, "unique": 1},
    "rule_score_components": {"accepted_values": 1, "not_null": 6, "unique": 1},
    "stg_ingest__quarantined_records": {"not_null": 4},
    "stg_hcpn__bureau_reports": {"accepted_range": 4, "accepted_values": 1, "not_null": 6},
    "stg_lender__clients": {"accepted_range": 2, "accepted_values": 1, "not_null": 3},
    "stg_lender__orders": {"accepted_range": 1, "accepted_values": 1, "not_null": 5, "unique": 1},
    "stg_lender__payment_plans": {"accepted_range": 1, "accepted_values": 1, "not_null": 4},
    "stg_lender__payments": {"accepted_range": 1, "not_null": 8, "unique": 1},
    "stg_lender__utilization_months": {"accepted_range": 4, "not_null": 3},
}
# The checks relations declare on themselves: their unique key (what their unique_combination_of_columns
# test was) and how many row expressions (their expression_is_true tests).
RELATION_CHECKS = {
    "fct_client_features": (["client_id", "feature_date"], 3),
    "fct_client_scores": (["client_id", "score_date"], 0),
    "fct_rule_scores": (["client_id", "feature_date"], 0),
    "int_client_credit_limit_changes": (["client_id", "export_date"], 0),
    "int_client_feature_dates": (["client_id", "feature_date"], 2),
    "int_default_events": (["event_type", "source_id"], 0),
    "int_default_labels": (None, 1),
    "int_feature_dates": (None, 1),
    "int_mon_champion_baselines": (["variable", "bin_index"], 0),
    "int_mon_matured_scores": (["client_id", "score_date", "scorer"], 0),
    "int_mon_previous_month_ends": (["feature_date"], 0),
    "ml_training_set": (["client_id", "feature_date"], 1),
    "mon_alerts": (["alert_date", "alert_type", "subject"], 0),
    "mon_feature_bins": (["feature_date", "feature", "bin_index"], 0),
    "mon_feature_drift": (["feature_date", "feature"], 0),
    "mon_model_calibration": (["score_date", "scorer", "decile"], 0),
    "mon_model_performance": (["cohort_grain", "cohort_start", "scorer"], 0),
    "mon_score_drift": (["score_date", "score_variable"], 0),
    "mon_score_mix": (["score_date", "dimension", "level_name"], 0),
    "monitoring_parameters": (None, 1),
    "payment_timeliness_curve": (None, 1),
    "rule_score_components": (None, 1),
    "stg_hcpn__bureau_reports": (["client_id", "report_date"], 0),
    "stg_lender__clients": (["client_id", "export_date"], 3),
    "stg_lender__orders": (None, 2),
    "stg_lender__payment_plans": (["plan_id", "export_date"], 1),
    "stg_lender__payments": (None, 1),
    "stg_lender__utilization_months": (["utilization_id", "export_date"], 1),
}
# generic tests column_checks stands in for; expression_is_true stays only where its severity differs
FOLDED_TESTS = {"not_null", "accepted_range", "accepted_values", "unique", "unique_combination_of_columns"}


def _parsed_manifest(settings: Settings) -> dict:
    run_dbt(settings, ["parse"])
    return json.loads((settings.warehouse.parent / "dbt" / "target" / "manifest.json").read_text())


def test_every_column_check_is_declared_and_run_by_one_column_checks_test(tmp_path):
    """Each relation that declares checks (on its columns or on itself) has exactly one column_checks test,
    with the checks, bounds, values, keys and expressions its separate tests had (no test of those kinds is
    left, but an expression_is_true with its own severity), and with the same `where` as before: the latest
    exports on staging and raw, every row elsewhere."""
    manifest = _parsed_manifest(Settings(warehouse=tmp_path / "riskmart.duckdb"))
    relations = {**manifest["nodes"], **manifest["sources"]}
    checks = {}  # relation's display name -> column -> its checks
    relation_checks = {}  # relation's display name -> the checks it declares on itself
    names = {}  # unique_id -> display name
    for unique_id, node in relations.items():
        if node["resource_type"] not in {"model", "seed", "source"}:
            continue
        names[unique_id] = f"{node['source_name']}.{node['name']}" if "source_name" in node else node["name"]
        declared = {
            c["name"]: c["config"]["meta"]["checks"]
            for c in node["columns"].values()
            if c["config"]["meta"].get("checks")
        }
        if declared:
            checks[names[unique_id]] = declared
        if node["config"].get("meta", {}).get("checks"):
            relation_checks[names[unique_id]] = node["config"]["meta"]["checks"]

    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n.get("test_metadata")]
    assert not [t["name"] for t in tests if t["test_metadata"]["name"] in FOLDED_TESTS]
    assert {
        t["config"]["severity"].lower() for t in tests if t["test_metadata"]["name"] == "expression_is_true"
    } <= {"warn"}
    column_checks = [t for t in tests if t["test_metadata"]["name"] == "column_checks"]
    tested = Counter(names[t["attached_node"] or t["depends_on"]["nodes"][0]] for t in column_checks)
    assert tested == dict.fromkeys(checks.keys() | relation_checks.keys(), 1)
    for test in column_checks:
        tested_id = test["attached_node"] or test["depends_on"]["nodes"][0]
        recent_only = tested_id.startswith("source.") or relations[tested_id]["fqn"][1] == "staging"
        assert test["config"]["where"] == ("__recent_exports__" if recent_only else None), test["name"]
        assert test["config"]["severity"].lower() == "error", test["name"]

    assert {
        name: (declared.get("unique_key"), len(declared.get("expressions", [])))
        for name, declared in relation_checks.items()
    } == RELATION_CHECKS
    assert relation_checks["stg_lender__clients"]["expressions"] == [
        "length(client_name_hash) = 64",
        "length(tax_id_hash) = 64",
        "registration_date <= export_date",
    ]
    # a delivery loads once, but a rejected file may be logged again: as its `where` on the unique test was
    assert checks["ingest.ingest_log"]["file_id"]["unique"] == {
        "where": "status in ('loaded', 'loaded_with_rejects')"
    }
    counted = {
        name: dict(Counter(kind for c in columns.values() for kind in c)) for name, columns in checks.items()
    }
    assert counted == DECLARED_CHECKS

    features, rules = checks["fct_client_features"], checks["fct_rule_scores"]
    for half_life in (30, 90, 180):
        assert features[f"recency_weighted_payment_score_{half_life}d"] == {
            "accepted_range": {"min_value": 0, "max_value": 100}
        }
    shares = [name for name in features if "_share_" in name or name.startswith("share_")]
    assert len(shares) == 4
    for share in shares:
        assert features[share] == {"accepted_range": {"min_value": 0, "max_value": 1}}
    assert features["segment"] == {"accepted_values": ["new", "established"]}
    assert rules["rule_score"] == {"accepted_range": {"min_value": 0, "max_value": 1000}}
    components = [name.removesuffix("_points") for name in rules if name.endswith("_points")]
    assert len(components) == 9
    for component in components:
        assert rules[f"{component}_points"] == {"accepted_range": {"min_value": 0, "max_value": 1000}}
        assert rules[f"{component}_risk"] == {"accepted_range": {"min_value": 0, "max_value": 1}}
    assert checks["stg_lender__payments"]["payment_amount"] == {
        "not_null": True,
        "accepted_range": {"min_value": 0, "inclusive": False},
    }
    # the training set's feature columns are checked on fct_client_features only, as before
    assert checks["ml_training_set"] == {"default_next_60d": {"accepted_values": [0, 1]}}


# one test per kind of check and of relation (a mart, the training set, a raw source and a contracted staging
# model with the recent-exports filter): the column_checks test of each, with the values that break it (the
# training set is a view: its label is broken in int_default_labels, on a row the view shows)
LATEST_CLIENTS = "export_date = (select max(export_date) from staging.stg_lender__clients)"
FIRST_LATEST_CLIENT = f"(select min(client_id) from staging.stg_lender__clients where {LATEST_CLIENTS})"
BROKEN_VALUES = {
    "column_checks_fct_client_features_": [
        (
            "marts.fct_client_features",
            "recency_weighted_payment_score_30d",
            "100.5",
            "recency_weighted_payment_score_30d is not null",
        )
    ],
    "column_checks_fct_rule_scores_": [("marts.fct_rule_scores", "segment", "'old'", "true")],
    "column_checks_ml_training_set_": [
        (
            "intermediate.int_default_labels",
            "default_next_60d",
            "2",
            "(client_id, feature_date) in (select client_id, feature_date from marts.ml_training_set)",
        )
    ],
    "source_column_checks_lender_payments_": [
        ("raw.payments", "payment_id", "null", "_export_date = (select max(_export_date) from raw.payments)")
    ],
    # the second client of the latest export takes the first's id: a repeated key; a third's hash is cut short
    "column_checks_stg_lender__clients_": [
        (
            "staging.stg_lender__clients",
            "client_id",
            FIRST_LATEST_CLIENT,
            f"{LATEST_CLIENTS} and client_id > {FIRST_LATEST_CLIENT}",
        ),
        (
            "staging.stg_lender__clients",
            "tax_id_hash",
            "'tooshort'",
            f"{LATEST_CLIENTS} and client_id > {FIRST_LATEST_CLIENT}",
        ),
    ],
}


def _test_statuses(settings: Settings) -> dict[str, str]:
    results = json.loads((settings.warehouse.parent / "dbt" / "target" / "run_results.json").read_text())
    return {
        r["unique_id"].split(".")[2]: r["status"]
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }


def test_column_checks_fail_on_a_value_out_of_bounds_and_name_its_column(demo_cycle, tmp_path):
    """The untouched build passes each relation's column_checks test; one value out of its range, outside its
    accepted values or NULL, a repeated key or a row breaking an expression fails it, with one row per failing
    check naming the column and the check, how many rows break it and a failing value (the repeated key)."""
    args = ["test", "--store-failures", "--select", *BROKEN_VALUES]
    untouched = Settings(warehouse=tmp_path / "untouched" / "riskmart.duckdb")
    broken = Settings(warehouse=tmp_path / "broken" / "riskmart.duckdb")
    for settings in (untouched, broken):
        settings.warehouse.parent.mkdir()
        shutil.copy(demo_cycle.settings.warehouse, settings.warehouse)

    run_dbt(untouched, args, as_of=demo_cycle.as_of)
    assert _test_statuses(untouched) == dict.fromkeys(BROKEN_VALUES, "pass")

    with duckdb.connect(str(broken.warehouse)) as con:
        repeated_client, latest_export = con.execute(
            f"select {FIRST_LATEST_CLIENT}, max(export_date) from staging.stg_lender__clients"  # noqa: S608
        ).fetchone()
        for updates in BROKEN_VALUES.values():
            for relation, column, value, condition in updates:
                con.execute(
                    f"update {relation} set {column} = {value}"  # noqa: S608 (constants)
                    f" where rowid = (select min(rowid) from {relation} where {condition})"
                )
    with pytest.raises(DbtError, match=r"column_checks_fct_client_features_\.\w+: fail"):
        run_dbt(broken, args, as_of=demo_cycle.as_of)
    assert _test_statuses(broken) == dict.fromkeys(BROKEN_VALUES, "fail")
    with duckdb.connect(str(broken.warehouse), read_only=True) as con:
        failures = {
            test: sorted(
                con.execute(
                    f"select column_name, check_name, failing_rows, example_value from dbt_test__audit.{test}"  # noqa: S608
                ).fetchall(),
                key=str,
            )
            for test in BROKEN_VALUES
        }
    assert failures == {
        "column_checks_fct_client_features_": [
            ("recency_weighted_payment_score_30d", "accepted_range", 1, "100.5")
        ],
        "column_checks_fct_rule_scores_": [("segment", "accepted_values", 1, "old")],
        "column_checks_ml_training_set_": [("default_next_60d", "accepted_values", 1, "2")],
        "source_column_checks_lender_payments_": [("payment_id", "not_null", 1, None)],
        "column_checks_stg_lender__clients_": [
            ("client_id, export_date", "unique_key", 2, f"{repeated_client}, {latest_export.isoformat()}"),
            (None, "expression_is_true", 1, None),
        ],
    }


def test_daily_staging_tests_read_the_latest_exports_and_a_full_test_reads_every_one(demo_cycle, tmp_path):
    """A staging test's `__recent_exports__` filter keeps the rows of the latest `staging_test_days` (7) export
    dates, bounded by the newest export date read when the test runs: a row broken in the export 7 days before
    the newest passes the daily test and fails a --full-refresh build's (every row); one broken 6 days before
    fails the daily test too."""
    test = "column_checks_stg_lender__clients_"
    settings = Settings(warehouse=tmp_path / "warehouse" / "riskmart.duckdb")
    settings.warehouse.parent.mkdir()
    shutil.copy(demo_cycle.settings.warehouse, settings.warehouse)

    def break_hash(days_before_newest: int) -> None:
        with duckdb.connect(str(settings.warehouse)) as con:
            newest = con.execute("select max(export_date) from staging.stg_lender__clients").fetchone()[0]
            export = newest - timedelta(days=days_before_newest)
            broken = con.execute(
                "update staging.stg_lender__clients set tax_id_hash = 'tooshort'"
                " where rowid = (select min(rowid) from staging.stg_lender__clients where export_date = ?)",
                [export],
            ).fetchone()[0]
            assert broken == 1, f"the demo history has an export on {export}"

    def status(*flags: str) -> str:
        try:
            run_dbt(settings, ["build", *flags, "--select", test], as_of=demo_cycle.as_of)
        except DbtError:
            pass
        return _test_statuses(settings)[test]

    break_hash(7)
    assert status() == "pass"
    assert status("--full-refresh") == "fail"
    break_hash(6)
    assert status() == "fail"


# (YAML file, text, its broken replacement, the column_checks test, the compilation error it must raise)
BROKEN_DECLARATIONS = [
    # a column renamed in the YAML (or dropped from the table): a raw source's columns are looked up
    (
        "models/staging/lender/_lender__sources.yml",
        "          - name: payment_id\n",
        "          - name: payment_key\n",
        "source_column_checks_lender_payments_",
        "does not have: payment_key",
    ),
    # a key column a contracted model does not declare: its YAML columns are its columns
    (
        "models/staging/hcpn/_hcpn__models.yml",
        "unique_key: [client_id, report_date]",
        "unique_key: [client_id, report_day]",
        "column_checks_stg_hcpn__bureau_reports_",
        "does not have: report_day",
    ),
    (
        "models/staging/lender/_lender__models.yml",
        "          unique_key: [client_id, export_date]",
        "          unique_keys: [client_id, export_date]",
        "column_checks_stg_lender__clients_",
        "unknown check unique_keys",
    ),
    (
        "models/intermediate/_intermediate__models.yml",
        "meta: {checks: {not_null: true, unique: true}}\n      - name: order_id",
        "meta: {checks: {not_null: true, unique: {were: x}}}\n      - name: order_id",
        "column_checks_int_invoices_",
        "unique takes `true` or `{where: <condition>}`",
    ),
]


def test_a_misdeclared_check_fails_to_compile(demo_cycle, tmp_path):
    """A check cannot be silently left unrun: a check on a column the relation lacks (renamed in the YAML or
    dropped from the table), an unknown check or a malformed argument fails its relation's column_checks test
    at compilation, naming what is wrong."""
    project = tmp_path / "project"
    project.mkdir()
    for item in ("dbt_project.yml", "profiles", "macros", "models", "seeds", "tests"):
        source = PROJECT_DIR / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / item)
    for path, declared, broken, _, _ in BROKEN_DECLARATIONS:
        yml = project / path
        assert yml.read_text().count(declared) == 1, declared
        yml.write_text(yml.read_text().replace(declared, broken))
    settings = Settings(warehouse=tmp_path / "riskmart.duckdb", dbt_project_dir=project)
    shutil.copy(demo_cycle.settings.warehouse, settings.warehouse)
    tests = [test for _, _, _, test, _ in BROKEN_DECLARATIONS]
    with pytest.raises(DbtError) as raised:
        run_dbt(settings, ["test", "--select", *tests], as_of=demo_cycle.as_of)
    assert _test_statuses(settings) == dict.fromkeys(tests, "error")
    for _, _, _, test, error in BROKEN_DECLARATIONS:
        assert [line for line in str(raised.value).splitlines() if test in line and error in line], (
            test,
            error,
        )


def test_rows_match_client_spine_fails_on_a_dropped_an_invented_and_a_repeated_row(demo_cycle, tmp_path):
    """The grain test of the feature families compares dates by row count and key fingerprint first; each kind
    of broken row still fails it and is listed with its problem. One date loses a row and gains an invented
    client (its row count is unchanged: only the fingerprint tells), another repeats a row."""
    test = "rows_match_client_spine_int_client_order_features_"
    args = ["test", "--store-failures", "--select", test]
    settings = Settings(warehouse=tmp_path / "broken" / "riskmart.duckdb")
    settings.warehouse.parent.mkdir()
    shutil.copy(demo_cycle.settings.warehouse, settings.warehouse)
    run_dbt(settings, args, as_of=demo_cycle.as_of)
    assert _test_statuses(settings) == {test: "pass"}

    family = "intermediate.int_client_order_features"
    with duckdb.connect(str(settings.warehouse)) as con:
        dates = [
            row[0] for row in con.execute(f"select distinct feature_date from {family} order by 1").fetchall()
        ]  # noqa: S608
        dropped = con.execute(
            f"select client_id, feature_date from {family} where feature_date = ? order by client_id limit 1",  # noqa: S608
            [dates[0]],
        ).fetchone()
        con.execute(f"delete from {family} where client_id = ? and feature_date = ?", list(dropped))  # noqa: S608
        con.execute(
            f"insert into {family} select * replace ('NO_SUCH_CLIENT' as client_id) from {family}"  # noqa: S608
            " where feature_date = ? order by client_id limit 1",
            [dates[0]],
        )
        repeated = con.execute(
            f"select client_id, feature_date from {family} where feature_date = ? order by client_id limit 1",  # noqa: S608
            [dates[1]],
        ).fetchone()
        con.execute(
            f"insert into {family} select * from {family} where client_id = ? and feature_date = ?",  # noqa: S608
            list(repeated),
        )
    with pytest.raises(DbtError, match=rf"{test}\.\w+: fail"):
        run_dbt(settings, args, as_of=demo_cycle.as_of)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        failures = set(
            con.execute(f"select client_id, feature_date, problem from dbt_test__audit.{test}").fetchall()
        )  # noqa: S608
    assert failures == {
        (*dropped, "missing from the model"),
        ("NO_SUCH_CLIENT", dates[0], "not in the client spine"),
        (*repeated, "more than once in the model"),
    }


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


def _rewrite_csv(path: Path, change: Callable[[list[dict]], None]) -> list[dict]:
    """Rewrite the CSV file `path` with its rows changed in place by `change(rows)`; returns the rows."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, f"{path.name} has rows to change"
    change(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_a_late_correction_of_an_old_export_rebuilds_the_dates_it_changes(demo_cycle, tmp_path):
    """A payments file exported two months ago is delivered again, corrected (every amount halved), and the
    orders file of that day with its first invoiced order cancelled: the next incremental build rebuilds the
    feature dates and the invoices they touch, however old, and equals a full refresh."""
    landing = tmp_path / "landing"
    shutil.copytree(demo_cycle.landing, landing)
    old_export = demo_cycle.as_of - timedelta(days=60)
    corrected = landing / "payments" / f"payments_{old_export.isoformat()}.csv"
    cancelled = landing / "orders" / f"orders_{old_export.isoformat()}.csv"

    def halve_amounts(rows: list[dict]) -> None:
        for row in rows:
            row["payment_amount"] = f"{float(row['payment_amount']) / 2:.2f}"

    def cancel_first_order(rows: list[dict]) -> None:
        first = next(
            row
            for row in rows
            if row["invoice_id"] and row["due_date"] and row["order_status"] != "cancelled"
        )
        first["order_status"] = "cancelled"

    _rewrite_csv(corrected, halve_amounts)
    orders = _rewrite_csv(cancelled, cancel_first_order)
    cancelled_invoice = next(row["invoice_id"] for row in orders if row["order_status"] == "cancelled")

    def ingest_the_correction(warehouse: Path) -> None:
        loaded = ingest_landing(landing, warehouse, as_of=demo_cycle.as_of)
        assert sorted(f["file"] for f in loaded.files) == [
            f"orders/{cancelled.name}",
            f"payments/{corrected.name}",
        ]

    daily_build = DAILY_FEATURE_BUILD
    with _built_both_ways(demo_cycle, tmp_path, ingest_the_correction, daily_build) as con:
        changed_dates = con.execute(
            "select count(distinct feature_date) from (select * from before.marts.fct_client_features"
            " except all select * from incremental.marts.fct_client_features) where feature_date < ?",
            [demo_cycle.as_of - timedelta(days=31)],
        ).fetchone()[0]
        assert changed_dates > 0, "the correction changes month-end dates older than the daily ones"
        changed_invoices = con.execute(
            "select count(*) from (select * from before.intermediate.int_invoices"
            " except all select * from incremental.intermediate.int_invoices)"
        ).fetchone()[0]
        assert changed_invoices > 0, "the correction changes invoices"
        for name in ("before", "incremental", "refreshed"):
            invoices = con.execute(
                f"select count(*) from {name}.intermediate.int_invoices where invoice_id = ?",  # noqa: S608
                [cancelled_invoice],
            ).fetchone()[0]
            assert invoices == (1 if name == "before" else 0), f"{cancelled_invoice} in {name}"
        for relation in ("marts.fct_client_features", "marts.fct_rule_scores", "intermediate.int_invoices"):
            assert _differing_rows(con, relation, "incremental", "refreshed") == 0


def test_a_build_of_an_earlier_day_drops_the_invoices_and_payments_after_it(demo_cycle, tmp_path):
    """A day rebuilt after a later one (a backfill, a re-run): the incremental invoices equal a full refresh
    as of that day, without the orders and payments dated after it. Built again as of the later day, with
    nothing new delivered, they take those orders and payments back."""
    earlier = demo_cycle.as_of - timedelta(days=20)
    built = {}
    for name, refresh in (("incremental", []), ("refreshed", ["--full-refresh"])):
        settings = Settings(warehouse=tmp_path / name / "riskmart.duckdb")
        settings.warehouse.parent.mkdir()
        shutil.copy(demo_cycle.settings.warehouse, settings.warehouse)
        run_dbt(settings, ["run", "--select", "int_feature_dates", "int_invoices", *refresh], as_of=earlier)
        built[name] = settings.warehouse
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_cycle.settings.warehouse}' as before (read_only)")
        for name, path in built.items():
            con.execute(f"attach '{path}' as {name} (read_only)")
        later = con.execute(
            "select count(*) from before.intermediate.int_invoices where order_date > ?", [earlier]
        ).fetchone()[0]
        assert later > 0, "the demo has invoices after the earlier day"
        assert _differing_rows(con, "intermediate.int_invoices", "incremental", "refreshed") == 0
        assert _differing_rows(con, "intermediate.int_invoices", "before", "incremental") > 0
    settings = Settings(warehouse=built["incremental"])
    run_dbt(settings, ["run", "--select", "int_feature_dates", "int_invoices"], as_of=demo_cycle.as_of)
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_cycle.settings.warehouse}' as before (read_only)")
        con.execute(f"attach '{built['incremental']}' as incremental (read_only)")
        assert _differing_rows(con, "intermediate.int_invoices", "before", "incremental") == 0


def test_a_seed_whose_columns_changed_loads_into_a_warehouse_built_before_the_change(tmp_path):
    """A warehouse built before a seed gained a column (rule_score_components' `feature`) builds again with
    no manual step: seeds are recreated on every build, not truncated into their old columns."""
    settings = Settings(warehouse=tmp_path / "riskmart.duckdb", landing=tmp_path / "landing")
    args = ["seed", "--select", "rule_score_components"]
    run_dbt(settings, args)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("alter table seeds.rule_score_components drop column feature")
    run_dbt(settings, args)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        columns = [r[0] for r in con.execute("describe seeds.rule_score_components").fetchall()]
    assert "feature" in columns
