"""A re-run of a day whose last attempt was interrupted after its feature build keeps that build
(riskmart.pipeline.feature_build_kept), only while its inputs are the same and the day has not completed
since; the crash tests (test_crash_safety.py) prove the kept build gives an unbroken run's warehouse."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from pydantic import SecretStr

from ml.warehouse import TableWrite, open_warehouse
from riskmart.pipeline import (
    CYCLE_RUNS_TABLE,
    DBT_PROJECT_FILES,
    _record_feature_build,
    _record_seed_load,
    feature_build_inputs,
    feature_build_kept,
    project_inputs,
    seeds_loaded,
)
from riskmart.settings import PROJECT_DIR, Settings

DAY = date(2026, 6, 30)


def _settings(tmp_path: Path) -> Settings:
    project = tmp_path / "project"
    for name in DBT_PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        elif source.is_file():
            project.mkdir(exist_ok=True)
            shutil.copy(source, project / name)
    return Settings(warehouse=tmp_path / "riskmart.duckdb", dbt_project_dir=project)


def test_the_inputs_change_with_the_project_the_profile_and_the_ingest_log(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    first = feature_build_inputs(settings, DAY)
    assert feature_build_inputs(settings, DAY) == first
    assert feature_build_inputs(settings, date(2026, 7, 1)) != first

    model = settings.dbt_project_dir / "models" / "marts" / "fct_client_features.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    edited = feature_build_inputs(settings, DAY)
    assert edited != first

    # what riskmart gives dbt (the PII salt keys every hash), and any variable a project file reads
    salted = feature_build_inputs(settings.model_copy(update={"pii_salt": SecretStr("another salt")}), DAY)
    assert salted != edited
    macro = settings.dbt_project_dir / "macros" / "test_knob.sql"
    macro.write_text("{% macro test_knob() %}{{ env_var('RISKMART_TEST_KNOB', 'a') }}{% endmacro %}\n")
    knob = feature_build_inputs(settings, DAY)
    monkeypatch.setenv("RISKMART_TEST_KNOB", "b")
    assert feature_build_inputs(settings, DAY) != knob
    monkeypatch.delenv("RISKMART_TEST_KNOB")
    assert feature_build_inputs(settings, DAY) == knob

    warehouse = open_warehouse(settings)
    warehouse.execute("create schema raw")
    warehouse.execute(
        "create table raw.ingest_log (file_id varchar, finished_at timestamp, rows_loaded bigint)"
    )
    warehouse.execute("insert into raw.ingest_log values ('a', timestamp '2026-06-30 06:00:00', 10)")
    logged = feature_build_inputs(settings, DAY)
    assert logged != knob
    warehouse.execute("insert into raw.ingest_log values ('b', timestamp '2026-06-30 07:00:00', 0)")
    assert feature_build_inputs(settings, DAY) != logged


def test_a_build_is_kept_for_its_day_and_inputs_until_the_day_completes(tmp_path):
    settings = _settings(tmp_path)
    assert not feature_build_kept(settings, DAY, "inputs"), "nothing built yet"
    _record_feature_build(settings, DAY, "inputs")
    assert feature_build_kept(settings, DAY, "inputs")
    assert not feature_build_kept(settings, DAY, "other inputs")
    assert not feature_build_kept(settings, date(2026, 7, 1), "inputs")

    completed = {"as_of_date": DAY, "model_version": None, "bundle": None, "finished_at": datetime.now()}
    open_warehouse(settings).replace_rows([TableWrite(CYCLE_RUNS_TABLE, pd.DataFrame([completed]))])
    assert not feature_build_kept(settings, DAY, "inputs"), "a completed day is built again when re-run"
    _record_feature_build(settings, DAY, "inputs")
    assert feature_build_kept(settings, DAY, "inputs"), "an attempt after the completed one built it"


def test_the_seeds_stand_while_the_newest_load_is_of_this_project_and_every_seed_table_is_there(tmp_path):
    settings = _settings(tmp_path)
    project = project_inputs(settings)
    assert not seeds_loaded(settings, project), "nothing loaded yet"
    warehouse = open_warehouse(settings)
    warehouse.execute("create schema seeds")
    seeds = sorted(path.stem for path in (settings.dbt_project_dir / "seeds").rglob("*.csv"))
    for seed in seeds:
        warehouse.execute(f"create table seeds.{seed} (x integer)")
    _record_seed_load(settings, project)
    assert seeds_loaded(settings, project)

    warehouse.execute(f"drop table seeds.{seeds[0]}")
    assert not seeds_loaded(settings, project), "a seed table is missing"
    warehouse.execute(f"create table seeds.{seeds[0]} (x integer)")
    assert seeds_loaded(settings, project)

    seed_file = next((settings.dbt_project_dir / "seeds").rglob("*.csv"))
    seed_file.write_text(seed_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    edited = project_inputs(settings)
    assert edited != project and not seeds_loaded(settings, edited), "an edited project loads them"
    _record_seed_load(settings, edited)
    assert seeds_loaded(settings, edited)
    # back to the first project (a reverted edit): its load is no longer the newest, the tables are the edit's
    assert not seeds_loaded(settings, project)
