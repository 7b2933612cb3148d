"""The daily cycle end to end on a real warehouse: scored mart, publishing, re-runs and killed runs."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from bundle import current_bundle
from ml.warehouse import TableWrite, connect_warehouse, open_warehouse
from riskmart.cli import app
from riskmart.dbt import run_dbt
from riskmart.pipeline import (
    CYCLE_RUNS_TABLE,
    DAILY_FEATURE_BUILD,
    SEED_LOADS,
    CycleSummary,
    build_features,
    run_daily_cycle,
)
from riskmart.publish import current_snapshot

pytestmark = pytest.mark.slow

# Columns that name a run rather than describe a client: left out when runs are compared.
RUN_COLUMNS = {"model_version", "scored_at"}


def _table(warehouse: Path, relation: str, ignore: frozenset[str] = frozenset()) -> list[tuple]:
    """The relation's rows, sorted, without the columns that name a run (or `ignore`)."""
    with duckdb.connect(str(warehouse)) as con:
        columns = [
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                "order by column_index",
                relation.split("."),
            ).fetchall()
            if c not in RUN_COLUMNS | ignore
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        return con.execute(f"select {select} from {relation} order by all").fetchall()


def test_cycle_scores_every_client_at_the_as_of_date(demo_cycle):
    warehouse = demo_cycle.settings.warehouse
    with duckdb.connect(str(warehouse)) as con:
        featured = con.execute(
            "select count(*) from marts.fct_client_features where feature_date = ?", [demo_cycle.as_of]
        ).fetchone()[0]
        scored = con.execute(
            "select count(*), count(*) filter (where scored_by in ('model', 'in_default')), "
            "count(*) filter (where scored_by = 'in_default' and (risk_level <> 'HIGH' or score <> 300)), "
            "min(score), max(score) "
            "from marts.fct_client_scores where score_date = ?",
            [demo_cycle.as_of],
        ).fetchone()
        champion = con.execute(
            "select model_version from ml.ml_model_registry where status = 'champion'"
        ).fetchone()
    assert featured > 100
    assert scored[0] == featured == demo_cycle.summary.clients_scored
    assert scored[1] == featured, "with a champion every client is scored by the model or already in default"
    assert scored[2] == 0, "a client already in default is HIGH risk with the lowest score"
    assert 300 <= scored[3] <= scored[4] <= 850
    assert champion is not None and champion[0] == demo_cycle.summary.model_version
    assert demo_cycle.summary.rows_rejected > 0, "the demo export has dirty rows, which must be quarantined"


def test_published_snapshot_is_the_scored_mart(demo_cycle):
    publish_dir = demo_cycle.settings.publish_path
    snapshot = current_snapshot(publish_dir)
    assert snapshot is not None and snapshot.exists()
    published = pq.read_table(snapshot).to_pylist()
    with duckdb.connect(str(demo_cycle.settings.warehouse)) as con:
        mart = con.execute("select count(*) from marts.fct_client_scores").fetchone()[0]
    assert len(published) == mart
    bundle = current_bundle(publish_dir)  # checked against its manifest's sha256s
    card = bundle.model_card()
    assert card["model_version"] == bundle.model_version == demo_cycle.summary.model_version
    assert card["features"] and "artifact_dir" not in card
    assert (
        bundle.model_file("model.json").read_bytes()
        == (demo_cycle.settings.registry_path / card["model_version"] / "model.json").read_bytes()
    )
    with duckdb.connect(str(demo_cycle.settings.warehouse)) as con:
        seeds = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'seeds' order by 1"
            ).fetchall()
        ]
        policy = con.execute("select * from seeds.risk_policy order by priority").to_arrow_table()
    assert bundle.seed_names == seeds and "rule_score_components" in seeds
    published_policy = bundle.seed("risk_policy").sort_by("priority")
    assert published_policy.to_pylist() == policy.to_pylist(), "seeds as built"
    assert [f.type for f in published_policy.schema] == [f.type for f in policy.schema], "typed as built"
    assert not any(k in published[0] for k in ("client_name", "tax_id", "client_name_hash", "tax_id_hash"))


def test_rerun_of_the_same_day_changes_nothing(demo_cycle, tmp_path):
    before = {
        t: _table(demo_cycle.settings.warehouse, t) for t in ("marts.fct_client_scores", "ml.ml_scores")
    }
    summary = run_daily_cycle(demo_cycle.settings, as_of=demo_cycle.as_of, console=Console(quiet=True))
    assert summary.files == 0 and summary.trained is None, "nothing new to load, champion still fresh"
    after = {t: _table(demo_cycle.settings.warehouse, t) for t in before}
    assert after == before


def _built_seeds(settings) -> set[str]:
    """The seeds among the nodes of the last dbt command run on `settings`' warehouse."""
    run_results = settings.warehouse.parent / "dbt" / "target" / "run_results.json"
    nodes = [r["unique_id"] for r in json.loads(run_results.read_text(encoding="utf-8"))["results"]]
    return {node.split(".")[-1] for node in nodes if node.startswith("seed.")}


def test_the_feature_build_loads_the_seeds_again_only_when_one_is_missing(demo_cycle, tmp_path):
    """The seeds the demo cycle loaded stand while the project is the same (riskmart.pipeline.seeds_loaded; a
    project edit is riskmart/tests/test_feature_build_kept.py); a seed table dropped by hand is loaded again, and
    every seed with it."""
    folder = tmp_path / "cycle"
    shutil.copytree(demo_cycle.settings.warehouse.parent, folder)
    settings = demo_cycle.settings.model_copy(
        update={"warehouse": folder / demo_cycle.settings.warehouse.name}
    )
    seeds = {path.stem for path in (settings.dbt_project_dir / "seeds").rglob("*.csv")}
    before = _table(settings.warehouse, "seeds.score_bands")

    build_features(settings, CycleSummary(as_of=demo_cycle.as_of), Console(quiet=True))
    assert _built_seeds(settings) == set(), "the seeds loaded by the demo cycle's build are kept"
    assert _table(settings.warehouse, "seeds.score_bands") == before

    # the day completed, then someone drops a seed table: a re-run of the day loads the seeds again
    completed = {
        "as_of_date": demo_cycle.as_of,
        "model_version": None,
        "bundle": None,
        "finished_at": datetime.now(),
    }
    open_warehouse(settings).replace_rows([TableWrite(CYCLE_RUNS_TABLE, pd.DataFrame([completed]))])
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("drop table seeds.score_bands")
        loads = con.execute(f"select count(*), max(loaded_at) from {SEED_LOADS}").fetchone()  # noqa: S608
    build_features(settings, CycleSummary(as_of=demo_cycle.as_of), Console(quiet=True))
    assert _built_seeds(settings) == seeds
    assert _table(settings.warehouse, "seeds.score_bands") == before
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        again = con.execute(f"select count(*), max(loaded_at) from {SEED_LOADS}").fetchone()  # noqa: S608
    assert again[0] == loads[0] == 1 and again[1] > loads[1], (
        "the load is recorded again, for the same project"
    )


def test_each_feature_model_reads_its_settings_once_and_writes_only_the_comments_that_changed(
    demo_cycle, tmp_path
):
    """Two per-model costs of a daily feature build, counted in dbt's log of one:
    * an incremental feature model asks whether its seeds changed since its last build from its SQL and from
      two post-hooks; build_settings_memo answers all of them from one read of riskmart_meta.build_settings
      (and one seed fingerprint) per model and dbt invocation;
    * duckdb__persist_docs writes a model's comments only where the warehouse's differ from the YAML: the
      mart whose table and one column comment went stale (a description edited since its last build) gets
      those two written again, the other incremental models none."""
    folder = tmp_path / "cycle"
    shutil.copytree(demo_cycle.settings.warehouse.parent, folder)
    settings = demo_cycle.settings.model_copy(
        update={"warehouse": folder / demo_cycle.settings.warehouse.name}
    )
    stale, column = "fct_client_features", "credit_limit"
    with connect_warehouse(settings.warehouse) as con:
        con.execute(f"comment on table marts.{stale} is 'stale'")
        con.execute(f"comment on column marts.{stale}.{column} is 'stale'")
    log = folder / "dbt" / "logs" / "dbt.log"
    log.unlink(missing_ok=True)
    run_dbt(settings, DAILY_FEATURE_BUILD, as_of=demo_cycle.as_of, quiet=True)
    reads: Counter[str] = Counter()
    comments: Counter[str] = Counter()
    node = None
    for line in log.read_text(encoding="utf-8").splitlines():
        if (started := re.search(r"On (model\.riskmart\.\w+):", line)) is not None:
            node = started.group(1)
        elif "select settings_fingerprint, ingested_through" in line and node is not None:
            reads[node] += 1
        if node is not None:
            comments[node] += line.count("comment on ")
    assert len(reads) >= 8, f"the incremental feature models read their settings: {reads}"
    assert set(reads.values()) == {1}, reads
    assert f"model.riskmart.{stale}" in reads
    assert {name: comments[name] for name in reads if comments[name]} == {f"model.riskmart.{stale}": 2}
    with connect_warehouse(settings.warehouse, read_only=True) as con:
        restored = con.execute(
            "select comment from duckdb_tables() where schema_name = 'marts' and table_name = ?"
            " union all select comment from duckdb_columns()"
            " where schema_name = 'marts' and table_name = ? and column_name = ?",
            [stale, stale, column],
        ).fetchall()
    assert "stale" not in {comment for (comment,) in restored} and len(restored) == 2


def test_run_without_landing_data_says_what_to_do(tmp_path):
    empty = tmp_path / "landing"
    empty.mkdir()
    result = CliRunner().invoke(
        app,
        ["run", "--landing", str(empty), "--warehouse", str(tmp_path / "wh.duckdb")],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert "nothing was loaded" in result.output and "riskmart demo-data" in result.output


def test_backfill_refuses_reversed_dates(tmp_path):
    result = CliRunner().invoke(app, ["backfill", "--from", "2026-06-30", "--to", "2026-06-01"])
    assert result.exit_code == 2
    assert "before --from" in result.output


def test_backfill_without_an_export_in_its_dates_says_what_to_do(tmp_path):
    landing = tmp_path / "landing"
    (landing / "clients").mkdir(parents=True)
    (landing / "clients" / "clients_2026-06-01.csv").write_text("client_id\n")
    result = CliRunner().invoke(
        app,
        [
            "backfill",
            "--landing",
            str(landing),
            "--warehouse",
            str(tmp_path / "wh.duckdb"),
            "--from",
            "2026-06-02",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "holds no export dated from 2026-06-02 to the last" in " ".join(result.output.split())


def test_the_steps_the_airflow_dag_runs_alone(demo_cycle, tmp_path):
    """The CLI steps orchestration/airflow/riskmart_daily.py runs besides ingest, build, score and maintain:
    `train --if-due` trains nothing the day after the cycle trained (as the cycle), and `publish` writes the
    bundle the cycle writes (the scored mart, the champion) to another folder."""
    settings = demo_cycle.settings
    where = ["--warehouse", str(settings.warehouse), "--registry-dir", str(settings.registry_path)]
    train = CliRunner().invoke(app, ["train", "--if-due", "--as-of", str(demo_cycle.as_of), *where])
    assert train.exit_code == 0, train.output
    assert "no training due" in train.output
    publish_dir = tmp_path / "published"
    published = CliRunner().invoke(app, ["publish", *where, "--publish-dir", str(publish_dir)])
    assert published.exit_code == 0, published.output
    bundle = current_bundle(publish_dir)
    assert bundle.model_version == demo_cycle.summary.model_version
    with duckdb.connect(str(settings.warehouse)) as con:
        mart = con.execute("select count(*) from marts.fct_client_scores").fetchone()[0]
    assert pq.read_table(current_snapshot(publish_dir)).num_rows == mart > 0
    both = CliRunner().invoke(app, ["build", "--daily", "scores", "--select", "fct_client_scores"])
    assert both.exit_code == 2 and "cannot be combined" in both.output
