"""The dbt project on BigQuery, proven against a local emulator (bqemulator, riskmart/tests/bigquery_emulator.py)
through the profile's `emulator` target: dbt-bigquery's SQL, load jobs and incremental strategies, not
BigQuery's cost, partition pruning or IAM (README, "Running on BigQuery"). `pytest -k bigquery` selects these
tests.

A tiny demo export is ingested up to the day before its last day into the emulator through ingest's BigQuery
writer (ingest/bigquery.py: NDJSON load jobs, one transaction per batch), and into DuckDB; `dbt build` (seeds,
every model and data test) runs on the emulator as of that day. dbt's unit tests run on DuckDB in the suite
and are parsed as BigQuery SQL here (sqlglot); on the emulator (where they passed when this target was built)
they cost about two minutes of the suite's 15 and prove only the fixtures' SQL, the models' own SQL being
built and tested here. To run them there as well, start the emulator as the fixture does and
`dbt test --target emulator --select test_type:unit`. Then the last day is ingested into both, and a second,
incremental build runs as of it, models only. The feature mart must then equal a DuckDB build of the same
files.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from conftest import DEMO_END_DATE, write_demo_export
from ingest.bigquery import BigQueryRawWriter
from ingest.loader import ingest_landing
from riskmart.dbt import run_dbt
from riskmart.settings import PROJECT_DIR, Settings
from riskmart.tests.bigquery_emulator import Emulator, running_emulator

pytestmark = pytest.mark.slow

FIRST_DAY = DEMO_END_DATE - timedelta(days=1)
# what DuckDB accepts and BigQuery refuses, which the emulators let through (issue 11): a tuple IN subquery,
# DuckDB's type names and functions (e.g. unit test fixtures written as `cast(null as varchar)`)
NOT_BIGQUERY = {
    "a tuple IN subquery": re.compile(r"\)\s+in\s*\(\s*select\b", re.I),
    "a DuckDB type name": re.compile(r"\bas\s+(double|varchar|hugeint|ubigint|utinyint)\b", re.I),
    "a DuckDB function": re.compile(
        r"\b(arg_max|arg_min|list_value|struct_pack|epoch_ms|strftime)\s*\(", re.I
    ),
    "a temp table outside a script": re.compile(r"\bcreate\s+(temp|temporary)\s+table\b", re.I),
}


@dataclass(frozen=True)
class EmulatorBuild:
    emulator: Emulator
    first: object  # dbt's RunExecutionResult of the first build
    second: object  # and of the incremental second build
    settings: Settings
    duckdb_warehouse: Path


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
    landing, _ = write_demo_export(work, clients=40, months=4)
    warehouse = work / "duckdb" / "riskmart.duckdb"
    settings = Settings(warehouse=work / "emulator" / "unused.duckdb", dbt_target="emulator")

    raw = BigQueryRawWriter(bigquery_emulator.client(), bigquery_emulator.project)

    ingest_landing(landing, raw, as_of=FIRST_DAY)
    ingest_landing(landing, warehouse, as_of=FIRST_DAY)
    first = run_dbt(settings, ["build", "--exclude", "resource_type:unit_test"], as_of=FIRST_DAY, quiet=True)

    ingest_landing(landing, raw, as_of=DEMO_END_DATE)
    ingest_landing(landing, warehouse, as_of=DEMO_END_DATE)
    # the tests ran in the first build: the second proves the incremental strategies (the emulator is slow)
    second = run_dbt(
        settings,
        ["build", "--exclude", "resource_type:test", "resource_type:unit_test"],
        as_of=DEMO_END_DATE,
        quiet=True,
    )
    return EmulatorBuild(bigquery_emulator, first, second, settings, warehouse)


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
    """The first build (run_dbt raises on any failure) ran every seed, model and data test of the project,
    none skipped."""
    for node in emulator_build.first.results:
        if node.node.resource_type in {"seed", "model", "test"}:
            assert str(node.status).lower() in {"success", "pass"}, (node.node.unique_id, node.status)
    counts = _counts(emulator_build.first)
    for kind in ("seed", "model", "test"):
        assert counts.get(kind, 0) > 0, counts
    assert counts["model"] >= 30 and counts["test"] >= 100, counts


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


def test_bigquery_feature_mart_equals_the_duckdb_build(emulator_build: EmulatorBuild) -> None:
    """fct_client_features built on the emulator (full, then incremental) holds the same rows and values as a
    DuckDB build of the same files (floats to 1e-9 relative)."""
    duck = Settings(warehouse=emulator_build.duckdb_warehouse)
    run_dbt(
        duck,
        [
            "build",
            "--select",
            "+fct_client_features",
            "--exclude",
            "resource_type:test",
            "resource_type:unit_test",
        ],
        as_of=DEMO_END_DATE,
        quiet=True,
    )
    with duckdb.connect(str(duck.warehouse), read_only=True) as con:
        relation = con.execute("select * from marts.fct_client_features order by client_id, feature_date")
        columns = [column[0] for column in relation.description]
        expected = relation.fetchall()
    client, project = emulator_build.emulator.client(), emulator_build.emulator.project
    built = _rows(
        client,
        project,
        f"select {', '.join(columns)} from `{{project}}.marts.fct_client_features` order by client_id, feature_date",
    )
    assert len(built) == len(expected) > 0
    differences = []
    for left, right in zip(built, expected, strict=True):
        for name, a, b in zip(columns, left, right, strict=True):
            same = (
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
                if isinstance(a, float) and isinstance(b, float)
                else a == b
            )
            if not same:
                differences.append((left[0], left[1], name, a, b))
    assert not differences, differences[:10]


def _sql_without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", re.sub(r"/\*.*?\*/", "", sql, flags=re.S))


def test_every_compiled_model_parses_as_bigquery(emulator_build: EmulatorBuild) -> None:
    """Every model compiled for the emulator target parses in sqlglot's BigQuery dialect and holds none of the
    constructs BigQuery refuses that the emulators accept."""
    import sqlglot

    compiled = (
        emulator_build.settings.warehouse.parent / "dbt" / "target" / "compiled" / "riskmart" / "models"
    )
    files = sorted(compiled.rglob("*.sql"))
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
