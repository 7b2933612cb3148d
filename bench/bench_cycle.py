"""Daily cycle benchmark (issue 4, "Speed"): the whole `riskmart run` for one day after history is built.

    .venv/bin/python -m bench cycle                                   # 20,000 clients x 24 months
    .venv/bin/python -m bench cycle -- --clients 2000 --months 12     # a smaller run
    .venv/bin/python -m bench cycle -- --landing /data/landing --end-date 2026-06-30

Generates the export (unless --landing is given), runs `riskmart run --as-of <end - 1>` to build the
history (ingest, features, first training, scoring, publishing), then times `riskmart run --as-of <end>`:
the daily run, which ingests one day of files, builds the features incrementally, scores and publishes.
Each run is its own process (wall time, CPU time and peak memory from wait4). Writes bench/results/cycle.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import add_export_options, export_options, timed_process

RESULTS = Path(__file__).parent / "results" / "cycle.json"
RISKMART = str(Path(sys.executable).parent / "riskmart")


def _timed(label: str, command: list[str], env: dict[str, str]) -> dict:
    step, output = timed_process(label, command, env)
    print("\n".join(line for line in output.splitlines() if "│" in line or "✓" in line), flush=True)
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_export_options(parser)
    parser.add_argument("--landing", type=Path, help="an existing landing folder (skips generation)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary warehouse")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="riskmart-bench-cycle-"))
    landing = args.landing or work / "landing"
    env = {
        **os.environ,
        "RISKMART_WAREHOUSE": str(work / "warehouse" / "riskmart.duckdb"),
        "RISKMART_LANDING": str(landing),
        "RISKMART_TRUTH": str(landing.parent / "truth"),
    }
    steps = {}
    try:
        if args.landing is None:
            steps["generate"] = _timed(
                "generate",
                [RISKMART, "demo-data", *export_options(args)],
                env,
            )
        history_day = args.end_date - timedelta(days=1)
        steps["history_run"] = _timed(
            f"riskmart run --as-of {history_day}", [RISKMART, "run", "--as-of", history_day.isoformat()], env
        )
        steps["daily_run"] = _timed(
            f"riskmart run --as-of {args.end_date}",
            [RISKMART, "run", "--as-of", args.end_date.isoformat()],
            env,
        )
    finally:
        if args.keep:
            print(
                f"kept: RISKMART_WAREHOUSE={env['RISKMART_WAREHOUSE']} RISKMART_TRUTH={env['RISKMART_TRUTH']}"
            )
        else:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "benchmark": "cycle",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "clients": args.clients,
        "months": args.months,
        "steps": steps,
        "daily_run_share_of_history_run": round(
            steps["daily_run"]["seconds"] / steps["history_run"]["seconds"], 3
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
