"""What the monitoring models (models/intermediate/monitoring, models/marts/monitoring) add to the daily build.

    .venv/bin/python -m bench monitoring -- --warehouse path/to/riskmart.duckdb --as-of 2026-06-30

Takes a warehouse the daily cycle built as of --as-of (a champion, its baseline and scores), copies it, and
runs on the copy, with `--threads 1` so each model's own time from run_results.json adds up: the daily
feature build's models (`dbt run --exclude` the scoring and monitoring selectors, as riskmart/pipeline.py's
DAILY_FEATURE_BUILD) and then the monitoring models (`dbt run --select MONITORING_SELECTOR`), both incremental
re-runs of the as-of date (what a re-run of the day does; a new day's feature build also reads its new
deliveries). With --full-refresh, a `dbt run --full-refresh` of the whole project first, split the same way.
Writes bench/results/monitoring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.bench_features import _dbt
from riskmart.pipeline import MONITORING_SELECTOR, SCORING_SELECTOR

RESULTS = Path(__file__).parent / "results" / "monitoring.json"


def _timed_dbt(args: list[str], warehouse: Path, target: Path, as_of: date) -> tuple[float, list[dict]]:
    env = {**os.environ, "RISKMART_WAREHOUSE": str(warehouse), "RISKMART_AS_OF_DATE": as_of.isoformat()}
    started = time.perf_counter()
    subprocess.run(_dbt(args, warehouse, target), env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    return wall, json.loads((target / "run_results.json").read_text())["results"]


def _is_monitoring(result: dict) -> bool:
    name = result["unique_id"].rsplit(".", 1)[1]
    return name.startswith(("mon_", "int_mon_"))


def _split(results: list[dict]) -> dict:
    models = [r for r in results if r["unique_id"].startswith("model.")]
    monitoring = [r for r in models if _is_monitoring(r)]
    rest = [r for r in models if not _is_monitoring(r)]
    return {
        "monitoring_models_seconds": round(sum(r["execution_time"] for r in monitoring), 2),
        "other_models_seconds": round(sum(r["execution_time"] for r in rest), 2),
        "monitoring_by_model": {
            r["unique_id"].rsplit(".", 1)[1]: round(r["execution_time"], 2)
            for r in sorted(monitoring, key=lambda r: -r["execution_time"])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warehouse", type=Path, required=True, help="A warehouse built by `riskmart run`.")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="Its as-of date.")
    parser.add_argument(
        "--full-refresh", action="store_true", help="Also time a full refresh of the project."
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_monitoring_")).resolve()
    report: dict = {
        "warehouse": str(args.warehouse),
        "megabytes": round(args.warehouse.stat().st_size / 1e6, 1),
    }
    try:
        warehouse = work / "riskmart.duckdb"
        shutil.copy(args.warehouse, warehouse)
        if args.full_refresh:
            wall, results = _timed_dbt(
                ["run", "--full-refresh", "--threads", "1"], warehouse, work / "full", args.as_of
            )
            report["full_refresh_run"] = {"wall_seconds": round(wall, 2), **_split(results)}
        features_wall, features = _timed_dbt(
            ["run", "--threads", "1", "--exclude", SCORING_SELECTOR, MONITORING_SELECTOR],
            warehouse,
            work / "features",
            args.as_of,
        )
        monitoring_wall, monitoring = _timed_dbt(
            ["run", "--threads", "1", "--select", MONITORING_SELECTOR], warehouse, work / "daily", args.as_of
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    feature_seconds = round(
        sum(r["execution_time"] for r in features if r["unique_id"].startswith("model.")), 2
    )
    monitoring_split = _split(monitoring)
    report["daily_feature_run"] = {"wall_seconds": round(features_wall, 2), "models_seconds": feature_seconds}
    report["daily_monitoring_run"] = {"wall_seconds": round(monitoring_wall, 2), **monitoring_split}
    report["monitoring_over_feature_models"] = round(
        monitoring_split["monitoring_models_seconds"] / feature_seconds, 3
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
