"""The dbt project on BigQuery, proven against a local emulator (bqemulator, riskmart/tests/bigquery_emulator.py)
through the profile's `emulator` target: dbt-bigquery's SQL, load jobs and incremental strategies, not
BigQuery's cost, partition pruning or IAM (README, "Running on BigQuery"). `pytest -k bigquery` selects these
tests.

A tiny demo export is ingested up to the day before its last day into DuckDB, and its raw tables loaded into
the emulator with CSV load jobs (bigquery_emulator.copy_schema): ingest's BigQuery writer (ingest/bigquery.py)
writes the same rows in the same BigQuery types as the DuckDB ingest of the same files, as
ingest/tests/test_ingest_bigquery.py proves on the emulator, so it does not ingest the export a second time
here (ingesting validates every file). The cycle's feature build (`dbt build` of the seeds and every model but
the scored and monitoring marts, with their data tests) runs on the emulator as of that day. Then the last day is ingested and the raw tables
loaded again, and a second, incremental build runs as of it, models only: those the scoring build, training
and the comparisons below read (SECOND_BUILD). A model is then trained and the day scored through the BigQuery
warehouse (ml.warehouse.BigQueryWarehouse, chosen by the target's type), and the pipeline's scoring build
(scored and monitoring marts, with their data tests, built here once, as on a lender's first day) runs on
the emulator. The same files are built, trained and scored on DuckDB; the feature, rule-score and client-score marts must be equal on both engines, and so
must the bundles both builds publish and what `riskmart serve` answers from each. dbt's unit tests run on the
emulator too (about 35 s). Last, a lender's first day as one command: `riskmart run` on an emulator project with
no dataset, the export read from `gs://` and the day published to `gs://` on a Cloud Storage emulator
(riskmart/tests/gcs_emulator.py), then `riskmart sync` of the bundle into a local folder.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import DEMO_END_DATE, write_demo_export
from ingest.loader import ingest_landing
from ml.score import ScoreResult, score_date
from ml.train import TrainResult, train_model
from ml.warehouse import BigQueryWarehouse, TableSpec, TableWrite, WarehouseError, open_warehouse
from riskmart.dbt import run_dbt
from riskmart.pipeline import DAILY_FEATURE_BUILD, DAILY_SCORING_BUILD, MONITORING_SELECTOR, SCORING_SELECTOR
from riskmart.settings import PROJECT_DIR, Settings
from riskmart.tests.bigquery_emulator import Emulator, copy_schema, running_emulator
from riskmart.tests.gcs_emulator import StorageEmulator, running_storage_emulator

pytestmark = pytest.mark.slow

FIRST_DAY = DEMO_END_DATE - timedelta(days=1)
# a month end whose 60-day labels have matured by DEMO_END_DATE: scored too, it gives the performance marts a
# matured cohort (the daily cycle scores its own date only)
MATURED_MONTH_END = date(2026, 4, 30)
# after it is scored: the scoring and monitoring models again, incremental (the monitoring marts' own paths)
MATURED_COHORT_RUN = ["run", "--select", SCORING_SELECTOR, MONITORING_SELECTOR]
# the smallest demo export whose matured history trains a model out of time (both label classes in each of
# train, validation and test): 40 clients x 4 months give two matured feature dates and one default
CLIENTS, MONTHS = 80, 6
# what DuckDB accepts and BigQuery refuses, which the emulators let through (issue 11): a tuple IN subquery,
# DuckDB's type names and functions (e.g. unit test fixtures written as `cast(null as varchar)`)
NOT_BIGQUERY = {
    "a tuple IN subquery": re.compile(r"\)\s+in\s*\(\s*select\b", re.I),
    "a DuckDB type name": re.compile(r"\bas\s+(double|varchar|hugeint|ubigint|utinyint)\b", re.I),
    "a DuckDB function": re.compile(
        r"\b(arg_max|arg_min|list_value|struct_pack|epoch_ms|strftime)\s*\(", re.I
    ),
    "a temp table outside a script": re.compile(r"\bcreate\s+(temp|temporary)\s+table\b", re.I),
    # BigQuery escapes a quote with a backslash; the emulator reads 'day''s' as the literals 'day' 's' ("days")
    "a quote doubled inside a text literal": re.compile(r"\w''\w"),
}


# The second, incremental build: the models of the feature build that the scoring build, training, the
# compared marts and the published bundle read, with their parents (every incremental model among them); not
# the seeds, the data tests or the models nothing here reads (e.g. the metricflow time spine).
READ_AFTER_THE_FEATURE_BUILD = (
    *(f"+{selector}" for selector in (*SCORING_SELECTOR.split(), *MONITORING_SELECTOR.split())),
    "+fct_client_features",
    "+fct_rule_scores",
    "+fct_client_history",
    "+ml_training_set",
)
SECOND_BUILD = [
    "build",
    "--resource-type",
    "model",
    "--select",
    *READ_AFTER_THE_FEATURE_BUILD,
    "--exclude",
    SCORING_SELECTOR,
    MONITORING_SELECTOR,
]


@dataclass(frozen=True)
class Engines:
    """What training and scoring did on one engine: the day's scores and the matured month end's."""

    trained: TrainResult
    scored: ScoreResult
    matured: ScoreResult


@dataclass(frozen=True)
class EmulatorBuild:
    emulator: Emulator
    first: object  # dbt's RunExecutionResult of the first build
    second: object  # and of the incremental second build
    scoring: object  # and of the scoring build after training and scoring
    matured_cohort: object  # and of the incremental run after the matured month end was scored
    settings: Settings
    duckdb_warehouse: Path
    bigquery: Engines
    duckdb: Engines
    landing: Path


@pytest.fixture(scope="module")
def bigquery_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator on 127.0.0.1 with the profile's `emulator` target pointed at it."""
    with running_emulator(tmp_path_factory.mktemp("bigquery_emulator") / "emulator.log") as emulator:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in emulator.dbt_env().items():
                patch.setenv(name, value)
            yield emulator


@pytest.fixture(scope="module")
def emulator_build(bigquery_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> EmulatorBuild:
    work = tmp_path_factory.mktemp("bigquery_build")
    landing, _ = write_demo_export(work, clients=CLIENTS, months=MONTHS)
    warehouse = work / "duckdb" / "riskmart.duckdb"
    # the engine is the target's type: BigQuery, at the emulator the environment points to
    settings = Settings(
        warehouse=work / "emulator" / "unused.duckdb",
        dbt_target="emulator",
        registry_dir=work / "emulator" / "models",
    )

    # ingested once (its validation is most of an ingest's cost), its raw tables loaded into the emulator
    ingest_landing(landing, warehouse, as_of=FIRST_DAY)
    copy_schema(warehouse, "raw", bigquery_emulator, work)
    # the cycle's feature build (every seed, every model but the scored and monitoring marts, their data tests)
    first = run_dbt(settings, DAILY_FEATURE_BUILD, as_of=FIRST_DAY, quiet=True)

    ingest_landing(landing, warehouse, as_of=DEMO_END_DATE)
    copy_schema(warehouse, "raw", bigquery_emulator, work)
    # the tests and seeds ran in the first build: the second proves the incremental strategies (the emulator
    # is slow), models only, those the checks and the scoring build read (SECOND_BUILD)
    second = run_dbt(settings, SECOND_BUILD, as_of=DEMO_END_DATE, quiet=True)
    # the daily cycle's ML steps and scoring build, as `riskmart run` runs them
    trained, scored = train_model(settings, as_of=DEMO_END_DATE), score_date(settings, DEMO_END_DATE)
    scoring = run_dbt(settings, DAILY_SCORING_BUILD, as_of=DEMO_END_DATE, quiet=True)
    bigquery = Engines(trained, scored, score_date(settings, MATURED_MONTH_END))
    matured_cohort = run_dbt(settings, MATURED_COHORT_RUN, as_of=DEMO_END_DATE, quiet=True)

    # the same on DuckDB, from the same files (one full build: the data tests ran on the emulator)
    duck = Settings(warehouse=warehouse, registry_dir=work / "duckdb" / "models")
    models_and_seeds = ["build", "--resource-type", "model", "--resource-type", "seed"]
    run_dbt(
        duck, [*models_and_seeds, "--exclude", SCORING_SELECTOR, MONITORING_SELECTOR], as_of=DEMO_END_DATE
    )
    trained, scored = train_model(duck, as_of=DEMO_END_DATE), score_date(duck, DEMO_END_DATE)
    run_dbt(duck, [*models_and_seeds, "--select", SCORING_SELECTOR, MONITORING_SELECTOR], as_of=DEMO_END_DATE)
    duckdb_engines = Engines(trained, scored, score_date(duck, MATURED_MONTH_END))
    run_dbt(duck, MATURED_COHORT_RUN, as_of=DEMO_END_DATE, quiet=True)
    return EmulatorBuild(
        bigquery_emulator,
        first,
        second,
        scoring,
        matured_cohort,
        settings,
        warehouse,
        bigquery,
        duckdb_engines,
        landing,
    )


def _counts(result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in result.results:
        kind = node.node.resource_type
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _rows(client, project: str, sql: str) -> list[tuple]:
    return [tuple(row.values()) for row in client.query(sql.format(project=project)).result()]


def test_bigquery_seeds_load_with_bigquery_types(emulator_build: EmulatorBuild) -> None:
    """Every seed loads through dbt-bigquery's load job, its doubles as FLOAT64 and its text as STRING, with
    the CSV's values."""
    client, project = emulator_build.emulator.client(), emulator_build.emulator.project
    table = client.get_table(f"{project}.seeds.rule_score_components")
    types = {field.name: field.field_type for field in table.schema}
    assert types["weight"] in {"FLOAT", "FLOAT64"} and types["component"] == "STRING", types
    with (PROJECT_DIR / "seeds" / "features" / "rule_score_components.csv").open(encoding="utf-8") as handle:
        expected = {row["component"]: float(row["weight"]) for row in csv.DictReader(handle)}
    loaded = _rows(client, project, "select component, weight from `{project}.seeds.rule_score_components`")
    assert dict(loaded) == expected


def test_bigquery_build_runs_every_seed_model_and_data_test(emulator_build: EmulatorBuild) -> None:
    """The cycle's two builds (run_dbt raises on any failure), the first day's feature build and the scoring
    build, ran every seed, model and data test of the project between them, none skipped."""
    builds = (emulator_build.first, emulator_build.scoring)
    for node in (node for build in builds for node in build.results):
        if node.node.resource_type in {"seed", "model", "test"}:
            assert str(node.status).lower() in {"success", "pass"}, (node.node.unique_id, node.status)
    counts = {
        kind: sum(_counts(build).get(kind, 0) for build in builds) for kind in ("seed", "model", "test")
    }
    # 81 data tests when a relation's checks were folded into its one column_checks test
    assert counts["seed"] > 0 and counts["model"] >= 30 and counts["test"] >= 75, counts
    built = {
        node.node.name for build in builds for node in build.results if node.node.resource_type == "model"
    }
    project_models = {path.stem for path in (PROJECT_DIR / "models").rglob("*.sql")}
    assert project_models <= built, sorted(project_models - built)


def test_bigquery_second_build_is_incremental(emulator_build: EmulatorBuild) -> None:
    """The second build added the new day to the incremental marts, kept the first day's rows, and left one
    fingerprint row per model (inserted, never updated: concurrent writers cannot conflict)."""
    client, project = emulator_build.emulator.client(), emulator_build.emulator.project
    dates = _rows(
        client,
        project,
        "select feature_date, count(*) from `{project}.marts.fct_client_features`"
        " where feature_date >= date_sub(date '" + DEMO_END_DATE.isoformat() + "', interval 1 day)"
        " group by feature_date order by feature_date",
    )
    assert [day for day, _ in dates] == [FIRST_DAY, DEMO_END_DATE] and all(rows > 0 for _, rows in dates)
    recorded = _rows(
        client,
        project,
        "select model_name, count(*) from `{project}.riskmart_meta.build_settings` group by model_name",
    )
    # the on-run-start hook of the second build kept each model's newest row, its post-hook added one
    assert recorded and all(rows <= 2 for _, rows in recorded), recorded
    statuses = {node.node.name: str(node.status).lower() for node in emulator_build.second.results}
    assert statuses["fct_client_features"] == "success"


def _same(a: object, b: object) -> bool:
    numbers = (int, float, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers) and not (isinstance(a, bool) or isinstance(b, bool)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _differences(
    emulator_build: EmulatorBuild, mart: str, key: tuple[str, ...], ignore=()
) -> tuple[int, list]:
    """The rows of `mart` on the emulator against the DuckDB build: (rows compared, differences)."""
    order = ", ".join(key)
    with duckdb.connect(str(emulator_build.duckdb_warehouse), read_only=True) as con:
        relation = con.execute(f"select * from {mart} order by {order}")  # noqa: S608 (our constants)
        columns = [column[0] for column in relation.description if column[0] not in ignore]
        expected = [
            dict(zip([c[0] for c in relation.description], row, strict=True)) for row in relation.fetchall()
        ]
    client, project = emulator_build.emulator.client(), emulator_build.emulator.project
    built = _rows(client, project, f"select {', '.join(columns)} from `{{project}}.{mart}` order by {order}")
    assert len(built) == len(expected) > 0, (mart, len(built), len(expected))
    differences = []
    for left, right in zip(built, expected, strict=True):
        for name, a in zip(columns, left, strict=True):
            if not _same(a, right[name]):
                differences.append(([left[columns.index(k)] for k in key], name, a, right[name]))
    return len(built), differences


def test_bigquery_feature_mart_equals_the_duckdb_build(emulator_build: EmulatorBuild) -> None:
    """fct_client_features built on the emulator (full, then incremental) holds the same rows and values as a
    DuckDB build of the same files (floats to 1e-9 relative)."""
    _, differences = _differences(emulator_build, "marts.fct_client_features", ("client_id", "feature_date"))
    assert not differences, differences[:10]


def test_bigquery_rule_scores_equal_the_duckdb_build(emulator_build: EmulatorBuild) -> None:
    """fct_rule_scores (the rule-based score of every client and date) is the same on both engines."""
    _, differences = _differences(emulator_build, "marts.fct_rule_scores", ("client_id", "feature_date"))
    assert not differences, differences[:10]


def test_bigquery_trains_the_model_duckdb_trains(emulator_build: EmulatorBuild) -> None:
    """Trained through the BigQuery warehouse on the rows the emulator built, the model is the one DuckDB's
    rows train, byte for byte: its version ends in the model file's fingerprint, and the split, the features
    and the test metrics agree."""
    bq, duck = emulator_build.bigquery.trained, emulator_build.duckdb.trained
    assert bq.model_version.split("-", 1)[1] == duck.model_version.split("-", 1)[1]
    assert (bq.split, bq.n_features, bq.best_iteration) == (duck.split, duck.n_features, duck.best_iteration)
    assert bq.metrics == duck.metrics and bq.promoted and duck.promoted
    registry = open_warehouse(emulator_build.settings).read(
        "select model_version, status from ml.ml_model_registry"
    )
    assert registry.to_dict("records") == [{"model_version": bq.model_version, "status": "champion"}]


def test_bigquery_client_scores_equal_the_duckdb_build(emulator_build: EmulatorBuild) -> None:
    """Scored through the BigQuery warehouse and built by the pipeline's scoring build on the emulator,
    fct_client_scores holds the DuckDB build's rows and values (the model's probabilities, the ensemble, the
    risk levels and reasons); only the model version's training time and the scoring time differ."""
    bq, duck = emulator_build.bigquery.scored, emulator_build.duckdb.scored
    assert (bq.clients_scored, bq.clients_in_default, bq.reason_rows) == (
        duck.clients_scored,
        duck.clients_in_default,
        duck.reason_rows,
    )
    assert bq.clients_scored > 0
    compared, differences = _differences(
        emulator_build,
        "marts.fct_client_scores",
        ("client_id", "score_date"),
        ignore={"model_version", "scored_at"},
    )
    assert not differences, differences[:10]
    assert compared == sum(
        r.clients_scored + r.clients_in_default for r in (bq, emulator_build.bigquery.matured)
    )
    statuses = {node.node.name: str(node.status).lower() for node in emulator_build.scoring.results}
    assert statuses["fct_client_scores"] == "success" and all(
        status in {"success", "pass"} for status in statuses.values()
    ), statuses


def test_bigquery_performance_marts_equal_the_duckdb_build(emulator_build: EmulatorBuild) -> None:
    """With a matured month end scored on both engines, the incremental run of the monitoring marts on the
    emulator computes its cohort (score date and week, three scorers) and its deciles as DuckDB does; only
    the model version's training time and the engine's row fingerprint differ."""
    statuses = {node.node.name: str(node.status).lower() for node in emulator_build.matured_cohort.results}
    assert statuses["mon_model_performance"] == statuses["mon_model_calibration"] == "success", statuses
    compared, differences = _differences(
        emulator_build,
        "marts.mon_model_performance",
        ("cohort_grain", "cohort_start", "scorer"),
        ignore={"model_version", "cohort_fingerprint"},
    )
    assert not differences, differences[:10]
    assert compared == 2 * 3, "the month end and its week, each judged for the three scorers"
    _, differences = _differences(
        emulator_build,
        "marts.mon_model_calibration",
        ("score_date", "scorer", "decile"),
        {"cohort_fingerprint"},
    )
    assert not differences, differences[:10]


def test_every_dbt_unit_test_passes_on_bigquery(emulator_build: EmulatorBuild) -> None:
    """dbt's unit tests (the SQL logic of the models on fixed inputs) run with the emulator target: every one
    the project declares, each passing, with its fixtures cast to BigQuery's types."""
    settings = emulator_build.settings
    run_dbt(settings, ["test", "--select", "test_type:unit"], as_of=DEMO_END_DATE, quiet=True)
    target = settings.warehouse.parent / "dbt" / "target"
    declared = [
        uid for uid in json.loads((target / "manifest.json").read_text())["unit_tests"] if ".riskmart." in uid
    ]
    results = [
        r
        for r in json.loads((target / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("unit_test.")
    ]
    assert len(declared) >= 20, "the project's unit tests were not found"
    assert sorted(r["unique_id"] for r in results) == sorted(declared)
    assert {r["status"] for r in results} == {"pass"}


def _sql_without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", re.sub(r"/\*.*?\*/", "", sql, flags=re.S))


def test_every_compiled_model_parses_as_bigquery(emulator_build: EmulatorBuild) -> None:
    """Every model compiled for the emulator target parses in sqlglot's BigQuery dialect and holds none of the
    constructs BigQuery refuses that the emulators accept."""
    import sqlglot

    compiled = (
        emulator_build.settings.warehouse.parent / "dbt" / "target" / "compiled" / "riskmart" / "models"
    )
    # the models' and data tests' compiled SQL; not the unit tests' (they run on the emulator): each unit
    # test's own file and its fixtures, named after the models and seeds they stand for
    manifest = json.loads((compiled.parents[2] / "manifest.json").read_text())
    unit_files = {test["name"] for test in manifest["unit_tests"].values()} | {
        path.stem for folder in ("models", "seeds") for path in (PROJECT_DIR / folder).rglob("*.*")
    }
    files = sorted(
        path
        for path in compiled.rglob("*.sql")
        if not (path.stem in unit_files and any(p.endswith(".yml") for p in path.relative_to(compiled).parts))
    )
    assert len(files) >= 30, files
    problems = []
    for path in files:
        sql = _sql_without_comments(path.read_text(encoding="utf-8"))
        try:
            sqlglot.parse(sql, read="bigquery")
        except sqlglot.errors.ParseError as exc:
            problems.append(f"{path.name}: {str(exc)[:200]}")
        problems += [f"{path.name}: {what}" for what, pattern in NOT_BIGQUERY.items() if pattern.search(sql)]
    assert not problems, "\n".join(problems)


EXAMPLE = TableSpec(
    "ml.example_replaced",
    (("client_id", "string"), ("feature_date", "date"), ("value", "float"), ("rank", "int")),
    replace_key=("feature_date",),
)
# the same table with `value` declared a date: its rows load, and the insert into the FLOAT64 column fails
# inside the transaction, after the other write's delete and insert
CONFLICTING = TableSpec(
    "ml.example_replaced", (("feature_date", "date"), ("value", "date")), replace_key=("feature_date",)
)
OTHER = TableSpec(
    "ml.example_other", (("feature_date", "date"), ("note", "string")), replace_key=("feature_date",)
)


def _example(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": [f"00{i}" for i in range(len(values))],
            "feature_date": pd.Timestamp("2026-06-30"),
            "value": values,
            "rank": range(1, len(values) + 1),
        }
    )


def test_bigquery_warehouse_replace_rows_twice_is_once(bigquery_emulator: Emulator) -> None:
    """replace_rows creates the dataset and typed table, replaces by key (a second identical write changes
    nothing), keeps every digit of a float and ids' leading zeros, and reads back with `?` parameters."""
    warehouse = BigQueryWarehouse(bigquery_emulator.client(), project=bigquery_emulator.project)
    rows = _example([0.1 + 0.2, 1 / 3])
    for _ in range(2):
        warehouse.replace_rows([TableWrite(EXAMPLE, rows)])
    out = warehouse.read(
        "select * from ml.example_replaced where feature_date = ? and value > ? order by client_id",
        [DEMO_END_DATE, 0.0],
    )
    assert out["client_id"].tolist() == ["000", "001"] and out["value"].tolist() == [0.1 + 0.2, 1 / 3]
    assert out["feature_date"].tolist() == [pd.Timestamp(DEMO_END_DATE)] * 2
    table = bigquery_emulator.client().get_table(f"{bigquery_emulator.project}.{EXAMPLE.name}")
    types = {f.name: f.field_type for f in table.schema}
    # BigQuery answers the legacy names (FLOAT, INTEGER), the emulator the standard ones
    assert types["client_id"] == "STRING" and types["feature_date"] == "DATE", types
    assert types["value"] in {"FLOAT", "FLOAT64"} and types["rank"] in {"INTEGER", "INT64"}, types
    assert warehouse.read_arrow("select count(*) as n from ml.example_replaced").column("n").to_pylist() == [
        2
    ]
    # no staging table is left behind
    assert [
        t.table_id for t in bigquery_emulator.client().list_tables("ml") if t.table_id.startswith("_")
    ] == []


def test_bigquery_warehouse_a_failing_write_leaves_every_table_unchanged(bigquery_emulator: Emulator) -> None:
    """A write that fails inside the transaction (after another table's rows were replaced) changes
    nothing: BigQuery rolls the whole script back, and the caller gets a WarehouseError."""
    warehouse = BigQueryWarehouse(bigquery_emulator.client(), project=bigquery_emulator.project)
    note = pd.DataFrame({"feature_date": [pd.Timestamp(DEMO_END_DATE)], "note": ["kept"]})
    warehouse.replace_rows([TableWrite(EXAMPLE, _example([1.0])), TableWrite(OTHER, note)])
    replacing = [
        TableWrite(OTHER, note.assign(note="replaced")),
        TableWrite(CONFLICTING, pd.DataFrame({"feature_date": [DEMO_END_DATE], "value": [DEMO_END_DATE]})),
    ]
    with pytest.raises(WarehouseError, match="write failed|refused"):
        warehouse.replace_rows(replacing)
    assert warehouse.read("select note from ml.example_other")["note"].tolist() == ["kept"]
    assert warehouse.read("select value from ml.example_replaced")["value"].tolist() == [1.0]
    # a value that is not of its column's type is refused before anything is sent
    with pytest.raises(WarehouseError, match="'x' is not a number"):
        warehouse.replace_rows([TableWrite(EXAMPLE, _example([1.0]).assign(value=["x"]))])


# what differs between two engines' runs of the same day: when the model was trained and the day scored, and
# the performance marts' row fingerprints (each engine's own hash function: DuckDB hash, BigQuery farm_fingerprint)
DIFFER_BY_ENGINE = {"model_version", "trained_at", "scored_at", "cohort_fingerprint"}


def _same_answer(a: object, b: object) -> bool:
    """Two JSON answers equal, floats to 1e-9 relative, what differs by engine (DIFFER_BY_ENGINE) left out."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) - DIFFER_BY_ENGINE
        return keys == set(b) - DIFFER_BY_ENGINE and all(_same_answer(a[k], b[k]) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_answer(x, y) for x, y in zip(a, b, strict=True))
    return _same(a, b)


def test_bigquery_publish_serves_what_the_duckdb_published_snapshot_serves(
    emulator_build: EmulatorBuild, tmp_path: Path
) -> None:
    """The day published from the emulator (riskmart.publish through the BigQuery warehouse, to a local
    folder) and from the DuckDB build of the same files: the same marts and seeds (floats 1e-9; the run
    times aside), the same champion files, the applicant tables byte for byte (rendered by dbt with the DuckDB
    target, the SQL applicant scoring runs in-process), and a real `riskmart serve` on each bundle answers
    every client's score and an applicant alike."""
    from urllib.parse import quote

    import pyarrow.parquet as pq

    from api.tests.conftest import start_server, stop_server
    from api.tests.test_applicants import APPLICATION
    from bundle import open_bundle
    from bundle.layout import table_file
    from ml.registry import champion_info, sha256_bytes
    from riskmart.publish import APPLICANT_TABLES, publish_bundle, same_rows

    duck = Settings(
        warehouse=emulator_build.duckdb_warehouse,
        registry_dir=emulator_build.duckdb_warehouse.parent / "models",
    )
    bundles = {}
    for name, settings in (("bigquery", emulator_build.settings), ("duckdb", duck)):
        published = publish_bundle(
            open_warehouse(settings),
            tmp_path / name / "published",
            champion_info(settings),
            registry_path=settings.registry_path,
        )
        bundles[name] = open_bundle(published.path)
    bq, dk = bundles["bigquery"], bundles["duckdb"]
    assert bq.model_version and dk.model_version, "both engines publish their champion"
    assert bq.table_names == dk.table_names and bq.seed_names == dk.seed_names
    for bundle, settings in ((bq, emulator_build.settings), (dk, duck)):  # each its engine's champion, whole
        registered = settings.registry_path / bundle.model_version / "model.json"
        assert bundle.files["model/model.json"]["sha256"] == sha256_bytes(registered.read_bytes())
    applicant_files = {table_file(table.name) for table in APPLICANT_TABLES}
    for relative in applicant_files:
        assert bq.files[relative]["sha256"] == dk.files[relative]["sha256"], relative
    for name in bq.table_names:
        if table_file(name) in applicant_files:
            continue
        rows = [pq.read_table(bundle.table_path(name)).to_pylist() for bundle in (bq, dk)]
        assert len(rows[0]) == len(rows[1]) == bq.table_rows(name), name
        assert _same_answer(*rows), name
    for name in bq.seed_names:
        assert same_rows(bq.seed(name), dk.seed(name)), name

    answers = {}
    for name, bundle in bundles.items():
        server = start_server(tmp_path / name, bundle.path.parent)
        try:
            with server.client() as client:
                ids = pq.read_table(bundle.scores_path, columns=["client_id"]).column("client_id").to_pylist()
                answers[name] = [client.get(f"/v1/clients/{quote(i, safe='')}/score") for i in ids]
                answers[name].append(client.post("/v1/applicants/score", json=APPLICATION))
        finally:
            stop_server(server)
    assert all(response.status_code == 200 for response in answers["bigquery"]), answers["bigquery"][-1].text
    bq_answers = [response.json() for response in answers["bigquery"]]
    dk_answers = [response.json() for response in answers["duckdb"]]
    assert len(bq_answers) == len(dk_answers) > 1
    assert any(answer["scored_by"] == "model" for answer in bq_answers[:-1])
    assert bq_answers[-1]["model_version"] == bq.model_version and bq_answers[-1]["score"] is not None
    different = [(a, b) for a, b in zip(bq_answers, dk_answers, strict=True) if not _same_answer(a, b)]
    assert not different, different[:3]


# A BigQuery project of the emulator with no dataset yet: the first `riskmart run` of a lender on BigQuery
FIRST_RUN_PROJECT = "riskmart-first-run"


@pytest.fixture(scope="module")
def storage_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageEmulator]:
    """A Cloud Storage emulator on 127.0.0.1 with a landing bucket and a publish bucket."""
    log = tmp_path_factory.mktemp("storage_emulator") / "emulator.log"
    with running_storage_emulator(log, ("lender-exports", "riskmart-published")) as emulator:
        yield emulator


def test_a_first_riskmart_run_on_bigquery_from_and_to_cloud_storage(
    emulator_build: EmulatorBuild, storage_emulator: StorageEmulator, tmp_path: Path
) -> None:
    """A lender's first day on BigQuery, as one command: `riskmart run` through the real command line on an
    emulator project with no dataset, the export read from `gs://` and the day published to `gs://` (gcsfs
    against a Cloud Storage emulator). Every step runs on BigQuery: ingest loads the whole export through
    the BigQuery writer, the feature build, training inside the cycle (no champion yet), scoring, the scoring
    build, publishing, maintain. The model it trains is the fixture's, byte for byte, and the scored day
    equals the DuckDB build's. Then `riskmart sync` brings the published bundle into the folder the API
    reads, checked against its manifest, and a second sync downloads nothing."""
    from bundle import current_bundle

    fs = storage_emulator.filesystem()
    # one file at a time: concurrent uploads (gcsfs' put) took the emulator ~10x longer each
    for path in sorted(p for p in emulator_build.landing.rglob("*") if p.is_file()):
        fs.pipe_file(
            f"lender-exports/daily/{path.relative_to(emulator_build.landing).as_posix()}", path.read_bytes()
        )
    landing, published = "gs://lender-exports/daily", "gs://riskmart-published/bundles"
    emulator = Emulator(emulator_build.emulator.endpoint, FIRST_RUN_PROJECT)
    settings = Settings(
        warehouse=tmp_path / "first-run" / "unused.duckdb",
        dbt_target="emulator",
        registry_dir=tmp_path / "first-run" / "models",
        bq_project=FIRST_RUN_PROJECT,
        bq_api_endpoint=emulator.endpoint,
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("RISKMART_")}
    env |= emulator.dbt_env() | storage_emulator.env()
    env |= {
        "RISKMART_DBT_TARGET": settings.dbt_target,
        "RISKMART_WAREHOUSE": str(settings.warehouse),
        "RISKMART_REGISTRY_DIR": str(settings.registry_path),
        "RISKMART_LANDING": landing,
        "RISKMART_PUBLISH_URL": published,
        "RISKMART_PUBLISH_DIR": str(tmp_path / "served"),
    }

    def riskmart(*args: str) -> str:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "riskmart"), *args],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = done.stdout + done.stderr  # the steps and errors go to stderr, the summary to stdout
        assert done.returncode == 0, output[-6000:]
        return output

    assert [d.dataset_id for d in emulator.client().list_datasets()] == [], "the project starts empty"
    output = riskmart("run", "--as-of", DEMO_END_DATE.isoformat())
    steps = ("ingest", "dbt build: features", "train", "score", "dbt build: scores", "publish", "maintain")
    assert all(f"✓ {step} (" in output for step in steps), output[-6000:]

    warehouse = open_warehouse(settings)
    loaded = warehouse.read("select file, status from raw.ingest_log")
    cycles = warehouse.read("select as_of_date, model_version, bundle from riskmart_meta.cycle_runs")
    with duckdb.connect(str(emulator_build.duckdb_warehouse), read_only=True) as con:
        ingested_from_disk = dict(con.execute("select file, status from raw.ingest_log").fetchall())
    # every file of the export, read from gs://, logged as the DuckDB ingest of the folder logged it
    assert dict(zip(loaded["file"], loaded["status"], strict=True)) == ingested_from_disk
    assert len(cycles) == 1 and pd.Timestamp(cycles["as_of_date"].iloc[0]).date() == DEMO_END_DATE
    version = cycles["model_version"].iloc[0]
    # trained in the cycle on the rows of a full build: the fixture's model (its version ends in the file's hash)
    assert version.split("-", 1)[1] == emulator_build.bigquery.trained.model_version.split("-", 1)[1]
    assert fs.exists(f"riskmart-published/bundles/{cycles['bundle'].iloc[0]}/manifest.json")
    builds = warehouse.read("select as_of_date from riskmart_meta.feature_builds")
    assert [pd.Timestamp(day).date() for day in builds["as_of_date"]] == [DEMO_END_DATE]
    assert len(warehouse.read("select inputs from riskmart_meta.seed_loads")) == 1

    for what in ("downloaded", "already here"):
        assert f"({what}) from {published}" in " ".join(riskmart("sync").split())
    bundle = current_bundle(tmp_path / "served")  # every file's size and sha256 checked
    assert bundle.name == cycles["bundle"].iloc[0] and bundle.model_version == version
    with duckdb.connect(str(emulator_build.duckdb_warehouse), read_only=True) as con:
        relation = con.execute(
            "select * from marts.fct_client_scores where score_date = ? order by client_id", [DEMO_END_DATE]
        )
        names = [column[0] for column in relation.description]
        expected = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    served = sorted(
        (row for row in pq.read_table(bundle.scores_path).to_pylist() if row["score_date"] == DEMO_END_DATE),
        key=lambda row: row["client_id"],
    )
    assert len(served) == len(expected) > 0 and _same_answer(served, expected)


# GoogleSQL's type names a column of a table may be declared with (INT64's and NUMERIC's documented aliases
# included; no DOUBLE, BOOLEAN or VARCHAR)
BIGQUERY_TYPE_NAMES = {
    "string", "bytes", "int64", "int", "smallint", "integer", "bigint", "tinyint", "byteint", "float64",
    "numeric", "decimal", "bignumeric", "bigdecimal", "bool", "date", "datetime", "time", "timestamp", "json",
}  # fmt: skip


def test_every_contracted_model_ddl_declares_bigquery_types(emulator_build: EmulatorBuild, capfd) -> None:
    """The column list of a contracted model's DDL (`create or replace table t (col type not null, ...) as
    ...`), which the emulator cannot parse and so never receives (bigquery__get_table_columns_and_constraints),
    as dbt-bigquery renders it for real BigQuery: for every contracted model, one entry per declared column,
    each of a GoogleSQL type, NOT NULL where the contract says so, and the whole statement parses as
    BigQuery's."""
    import sqlglot

    capfd.readouterr()
    run_dbt(
        emulator_build.settings, ["run-operation", "contract_ddl_columns"], as_of=DEMO_END_DATE, quiet=True
    )
    rendered = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    manifest = json.loads(
        (emulator_build.settings.warehouse.parent / "dbt" / "target" / "manifest.json").read_text()
    )
    contracted = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]
    }
    assert len(contracted) >= 10 and set(rendered) == set(contracted), sorted(set(rendered) ^ set(contracted))
    problems = []
    for name, columns in rendered.items():
        declared = contracted[name]["columns"]
        assert [column.split()[0] for column in columns] == list(declared), name
        for column in columns:
            column_name, data_type, *constraints = column.split()
            if data_type.lower() not in BIGQUERY_TYPE_NAMES:
                problems.append(f"{name}.{column_name}: {data_type}")
            not_null = any(c["type"] == "not_null" for c in declared[column_name].get("constraints", []))
            if not_null != (" ".join(constraints).lower() == "not null"):
                problems.append(f"{name}.{column_name}: constraints {constraints}")
        sqlglot.parse_one(f"create or replace table t ({', '.join(columns)}) as select 1", read="bigquery")
    assert not problems, problems
