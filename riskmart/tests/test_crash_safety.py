"""Crash safety of the whole daily cycle: `riskmart run` (a real process) SIGKILLed inside each step in turn,
re-run, gives the warehouse (every table of every schema) and the published bundle of an unbroken run;
and after every kill, the bundle CURRENT names is whole and passes its checksums (what the API loads).

The scenario is the second day of a warehouse (its first day run and published), with the retrain interval
at one day so that the day trains a challenger: ingest then loads a day of deliveries over existing raw
tables, the dbt builds run incrementally, training registers a model beside a champion, and publishing
replaces a current bundle. The kills form one chain: each attempt is killed one step further on (each
re-run finishing what the killed one left), then a last run completes. An attempt after one that finished
the feature build keeps that build (riskmart.pipeline.feature_build_kept) instead of repeating it.

Where each kill lands (crash.py), after the step's start mark:
* ingest: the write-ahead log has grown and then kept its size 0.1 s: a first batch of deliveries committed,
  the others not yet;
* the two dbt builds: dbt's log reports models created, and the build goes on;
* train: the model's artifact folder is written, its registry rows not yet;
* score: half way through the step (it writes in its last instant, in one transaction);
* publish: the new bundle's temporary folder appears, CURRENT not swapped yet;
* maintain (retention, CHECKPOINT): its dbt operation has started (or it has committed a first change).
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from bundle import current_bundle
from conftest import DEMO_END_DATE, write_demo_export
from riskmart.pipeline import STEPS
from riskmart.tests.crash import (
    After,
    AnyOf,
    DbtNodesDone,
    FileGrows,
    NewEntry,
    bundle_snapshot,
    copy_installation,
    cycle_env,
    differences,
    kill_during,
    riskmart,
    warehouse_snapshot,
)
from riskmart.tests.soak import killed_backfill, random_kills, step_plans

pytestmark = pytest.mark.slow

DAY_1, DAY_2 = DEMO_END_DATE - timedelta(days=1), DEMO_END_DATE
WAREHOUSE = "riskmart.duckdb"


BACKFILL = ["backfill", "--from", DAY_1.isoformat()]


def _backfill(env: dict[str, str], last) -> str:
    result = riskmart([*BACKFILL, "--to", last.isoformat()], env)
    assert result.returncode == 0, result.stdout
    return result.stdout


@pytest.fixture(scope="module")
def second_day(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small export; a warehouse folder after a clean backfill of day 1 (`base`), and of days 1 and 2
    (`reference`: the same backfill resumed after day 1)."""
    root = tmp_path_factory.mktemp("crash")
    landing, truth = write_demo_export(root, clients=60)

    def env(folder: Path) -> dict[str, str]:
        return cycle_env(landing, truth, folder / WAREHOUSE, RISKMART_RETRAIN_INTERVAL_DAYS="1")

    base = root / "base"
    day_1_output = _backfill(env(base), DAY_1)
    reference = copy_installation(base, root / "reference")
    output = _backfill(env(reference), DAY_2)
    assert f"1 of 2 days already done: resuming at {DAY_2}" in output, output
    assert re.search(r"trained .* \((champion|challenger)\)", output), "day 2 trains a model"
    return {
        "env": env,
        "base": base,
        "reference": reference,
        "output": output,
        "plans": step_plans(day_1_output + output),
    }


def _ingest_log_rows(folder: Path) -> int:
    with duckdb.connect(str(folder / WAREHOUSE), read_only=True) as con:
        return con.execute("select count(*) from raw.ingest_log").fetchone()[0]


def test_a_run_killed_inside_each_step_then_rerun_equals_an_unbroken_run(second_day, tmp_path):
    folder = copy_installation(second_day["base"], tmp_path / "killed")
    env = second_day["env"](folder)
    warehouse, publish_dir = folder / WAREHOUSE, folder / "published"
    dbt_log = folder / "dbt" / "logs" / "dbt.log"

    def half_of(step: str) -> After:  # half as long as the step took in the unbroken run
        seconds = float(re.search(rf"✓ {step} \(([\d.]+) s\)", second_day["output"]).group(1))
        return After(max(seconds / 2, 0.02))

    kill_points = {
        # a first batch committed (its WAL records written whole), the next ones not yet
        "ingest": FileGrows(Path(f"{warehouse}.wal"), settle=0.1),
        "dbt build: features": DbtNodesDone(dbt_log, 3),
        "train": NewEntry(folder / "models", "[0-9]*"),
        "score": half_of("score"),
        "dbt build: scores": DbtNodesDone(dbt_log, 2),
        "publish": NewEntry(publish_dir, ".bundle-*.tmp"),
        # its dbt operation (pruning the staged change log) under way, or a first commit
        "maintain": AnyOf(FileGrows(dbt_log), FileGrows(Path(f"{warehouse}.wal"))),
    }
    assert list(kill_points) == list(STEPS), "a kill point for every step of the cycle"
    day_1_bundle = current_bundle(publish_dir).name
    base_log_rows = _ingest_log_rows(second_day["base"])

    for step, point in kill_points.items():
        run = kill_during(["run", "--as-of", DAY_2.isoformat()], env, step, point)
        assert run.killed, f"the run ended before its kill in {step}:\n{run.output}"
        assert f"✓ {step} (" not in run.output, f"the kill landed after {step} had finished:\n{run.output}"
        # past the feature build, each attempt keeps the one an earlier attempt finished (same inputs)
        kept = "✓ dbt build: features (kept" in run.output
        assert kept == (step in {"score", "dbt build: scores", "publish", "maintain"}), run.output
        # what the API would load now: a whole bundle (checksums verified), never a partial one; the day-1
        # bundle until publishing ends (maintenance comes after it: the day's bundle is out)
        bundle = current_bundle(publish_dir)
        expected = DAY_2 if step == "maintain" else DAY_1
        assert bundle is not None and bundle.score_date == expected, f"CURRENT after a kill in {step}"
        assert step == "maintain" or bundle.name == day_1_bundle, (
            f"CURRENT moved during a killed run ({step})"
        )
        if step == "ingest":
            logged = _ingest_log_rows(folder)
            assert base_log_rows < logged < _ingest_log_rows(second_day["reference"]), (
                "the kill lands inside the load: some of the day's deliveries committed, not all"
            )
        if step == "publish":
            assert list(publish_dir.glob(".bundle-*.tmp")), "the killed publish left its unfinished bundle"

    rerun = riskmart(["run", "--as-of", DAY_2.isoformat()], env)
    assert rerun.returncode == 0, rerun.stdout
    assert "taking over a stale run lock" in rerun.stdout
    assert current_bundle(publish_dir).score_date == DAY_2

    different = differences(
        warehouse_snapshot(warehouse), warehouse_snapshot(second_day["reference"] / WAREHOUSE)
    )
    assert not different, "the warehouse differs from an unbroken run's:\n" + "\n".join(different)
    different = differences(
        bundle_snapshot(publish_dir), bundle_snapshot(second_day["reference"] / "published")
    )
    assert not different, "the published bundle differs from an unbroken run's:\n" + "\n".join(different)


def test_the_first_run_killed_in_its_first_feature_build_then_rerun_equals_an_unbroken_run(
    second_day, tmp_path
):
    """The first run of a new warehouse, killed while its first dbt build creates the tables, then re-run:
    the same warehouse and bundle as the unbroken first day (`second_day["base"]`)."""
    folder = tmp_path / "first"
    env = second_day["env"](folder)
    args = [*BACKFILL, "--to", DAY_1.isoformat()]
    run = kill_during(args, env, "dbt build: features", DbtNodesDone(folder / "dbt/logs/dbt.log", 5))
    assert run.killed and "✓ dbt build: features (" not in run.output, run.output
    assert current_bundle(folder / "published") is None, "nothing published by the killed run"
    _backfill(env, DAY_1)

    base = second_day["base"]
    different = differences(warehouse_snapshot(folder / WAREHOUSE), warehouse_snapshot(base / WAREHOUSE))
    assert not different, "the warehouse differs from an unbroken run's:\n" + "\n".join(different)
    different = differences(bundle_snapshot(folder / "published"), bundle_snapshot(base / "published"))
    assert not different, "the published bundle differs from an unbroken run's:\n" + "\n".join(different)


def test_a_backfill_killed_at_a_random_point_resumes_to_the_clean_backfill(second_day, tmp_path):
    """The soak in small (`make soak` runs 60 days): `riskmart backfill` over the two days on the warehouse
    whose first day is done, SIGKILLed at a random moment (seeded) of the second, and run again until it
    completes, equals the clean backfill. (A first day killed is the test above; the soak kills anywhere.)"""
    seed = random.SystemRandom().randrange(1 << 31)
    kills = random_kills([DAY_2], seed, share=1)
    folder = copy_installation(second_day["base"], tmp_path / "killed")
    env = second_day["env"](folder)

    runs = killed_backfill([*BACKFILL, "--to", DAY_2.isoformat()], env, kills, second_day["plans"].get, print)
    landed = [(k.day, k.step, k.after_seconds, k.resumed_at) for k in kills]
    assert runs == len(kills) + 1 and all(k.step for k in kills), f"seed {seed}: kills {landed}"
    different = differences(
        warehouse_snapshot(folder / WAREHOUSE), warehouse_snapshot(second_day["reference"] / WAREHOUSE)
    )
    different += differences(
        bundle_snapshot(folder / "published"), bundle_snapshot(second_day["reference"] / "published")
    )
    assert not different, f"seed {seed}, kills {landed}: differs from the clean backfill:\n" + "\n".join(
        different
    )
