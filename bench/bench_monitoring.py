"""What the monitoring marts (models/marts/monitoring) add to the build, measured side by side in one dbt run.

    .venv/bin/python -m bench monitoring -- --warehouse path/to/riskmart.duckdb --as-of 2026-06-30

Takes a warehouse the daily cycle built (a champion, its baseline and scores), copies it, and runs
`dbt run --full-refresh --threads 1` on the copy: one thread, so each model's own time from run_results.json
adds up; the monitoring models' time is compared with every other model's. Then a second, incremental
`dbt run` of the monitoring models alone (a re-run of the day: what the daily scoring build adds). Writes
bench/results/monitoring.json.
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
from riskmart.pipeline import MONITORING_SELECTOR

RESULTS = Path(__file__).parent / "results" / "monitoring.json"


def _timed_dbt(args: list[str], warehouse: Path, target: Path, as_of: date) -> tuple[float, list[dict]]:
    env = {**os.environ, "RISKMART_WAREHOUSE": str(warehouse), "RISKMART_AS_OF_DATE": as_of.isoformat()}
    started = time.perf_counter()
    subprocess.run(_dbt(args, warehouse, target), env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    return wall, json.loads((target / "run_results.json").read_text())["results"]


def _split(results: list[dict]) -> dict:
    monitoring = [r for r in results if ".mon_" in r["unique_id"]]
    rest = [r for r in results if ".mon_" not in r["unique_id"] and r["unique_id"].startswith("model.")]
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
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_monitoring_")).resolve()
    try:
        warehouse = work / "riskmart.duckdb"
        shutil.copy(args.warehouse, warehouse)
        full_wall, full = _timed_dbt(
            ["run", "--full-refresh", "--threads", "1"], warehouse, work / "full", args.as_of
        )
        daily_wall, daily = _timed_dbt(
            ["run", "--threads", "1", "--select", MONITORING_SELECTOR], warehouse, work / "daily", args.as_of
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "warehouse": str(args.warehouse),
        "megabytes": round(args.warehouse.stat().st_size / 1e6, 1),
        "full_refresh_run": {"wall_seconds": round(full_wall, 2), **_split(full)},
        "daily_monitoring_run": {"wall_seconds": round(daily_wall, 2), **_split(daily)},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
