"""Feature mart benchmark (issue 3, "Speed"): the full dbt build, the daily incremental build and a plain scan
of the raw tables, on one generated export.

    .venv/bin/python -m bench features                                  # 20,000 clients x 24 months
    .venv/bin/python -m bench features -- --clients 2000 --months 12    # a smaller run
    .venv/bin/python -m bench features -- --landing /data/landing       # reuse a generated landing folder

Steps, each in its own process so that its peak memory is its own: generate the export (ending on
--end-date), ingest every file exported up to the day before, scan every raw row once in DuckDB, `dbt run`
and `dbt build --full-refresh` of every model as of that day, then ingest the last day and run the daily
cycle's `dbt build` of the feature mart as of it (every model but the scored mart, which the cycle builds
after scoring: incremental staging and feature models, every data test; the unit tests run in CI, not daily).
The models' own time comes from dbt's run_results.json.
Writes bench/results/features.json; the warehouse lives in a temporary folder, removed unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench import add_export_options, export_options, report_header, timed_process
from riskmart.pipeline import DAILY_FEATURE_BUILD
from riskmart.settings import PROJECT_DIR

RESULTS = Path(__file__).parent / "results" / "features.json"
RAW_TABLES = ("clients", "payments", "orders", "utilization_monthly", "payment_plans", "hcpn_reports")
BIN = Path(sys.executable).parent


def _run(label: str, command: list[str], env: dict[str, str] | None = None, dbt: bool = False) -> dict:
    """One timed step (bench.timed_process). A dbt step whose command ran but had failing nodes (exit 1) is
    timed too: its failures go into the report."""
    return timed_process(label, command, env, ok_exit_codes=(0, 1) if dbt else (0,))[0]


def _child(step: str, *options: str) -> list[str]:
    """This module run as a child process for one step (see _run_step)."""
    return [sys.executable, "-m", "bench.bench_features", "--step", step, *options]


def _dbt(args: list[str], warehouse: Path, target: Path) -> list[str]:
    return [
        str(BIN / "dbt"),
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR / "profiles"),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]


def _run_results(target: Path) -> dict:
    """Models' and tests' own execution time from dbt's run_results.json, and the slowest nodes."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    by_kind: dict[str, float] = {}
    nodes = []
    failures = [
        r["unique_id"]
        for r in results
        if r["status"] not in ("success", "pass") and not r["unique_id"].startswith("exposure.")
    ]
    if failures:
        print(f"  not successful: {failures}", flush=True)
    for result in results:
        kind = result["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + result["execution_time"]
        nodes.append((result["execution_time"], result["unique_id"]))
    nodes.sort(reverse=True)
    return {
        "own_seconds_by_kind": {k: round(v, 2) for k, v in sorted(by_kind.items())},
        "nodes": len(results),
        "not_successful": failures,
        "slowest": [{"node": n, "seconds": round(s, 2)} for s, n in nodes[:12]],
    }


def _run_step(args: argparse.Namespace) -> None:
    """One step in this (child) process: generate, ingest or scan."""
    if args.step == "generate":
        from demo.generate import generate_demo_data

        generate_demo_data(
            landing=args.landing,
            truth=args.workdir / "truth",
            clients=args.clients,
            months=args.months,
            end_date=args.end_date,
            seed=7,
            dirty_rate=0.0,
            shift_months=0,
        )
    elif args.step == "ingest":
        from ingest.loader import ingest_landing

        ingest_landing(args.landing, args.workdir / "riskmart.duckdb", as_of=args.as_of)
    elif args.step == "scan":
        import duckdb

        rows = {}
        with duckdb.connect(str(args.workdir / "riskmart.duckdb"), read_only=True) as con:
            started = time.perf_counter()
            for table in RAW_TABLES:
                # hash every column of every row and sum, so that no column can be skipped
                query = f"select count(*), sum(hash(columns(*))) from raw.{table}"  # noqa: S608 (our constants)
                rows[table] = con.execute(query).fetchall()[0][0]
            seconds = time.perf_counter() - started
        print(json.dumps({"seconds": round(seconds, 3), "rows": rows}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_export_options(parser)
    parser.add_argument(
        "--landing", type=Path, help="Reuse this generated landing folder (ending on --end-date)."
    )
    parser.add_argument("--workdir", type=Path, help="Folder for the warehouse (default: a temporary one).")
    parser.add_argument("--keep", action="store_true", help="Keep the warehouse (and a generated landing).")
    parser.add_argument("--step", choices=("generate", "ingest", "scan"), help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _run_step(args)
        return

    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="bench_features_"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse, target = workdir / "riskmart.duckdb", workdir / "dbt"
    generate = args.landing is None
    landing = (args.landing or workdir / "landing").resolve()
    day_before = args.end_date - timedelta(days=1)
    where = ["--workdir", str(workdir), "--landing", str(landing)]
    env = {"RISKMART_WAREHOUSE": str(warehouse)}
    report: dict = {
        **report_header(args),
        "steps": {},
    }
    steps = report["steps"]
    try:
        if generate:
            steps["generate"] = _run("generate", _child("generate", *where, *export_options(args)))
        steps["ingest_history"] = _run(
            "ingest up to the day before", _child("ingest", *where, "--as-of", day_before.isoformat())
        )
        scan = subprocess.run(
            _child("scan", *where), cwd=PROJECT_DIR, capture_output=True, text=True, check=True
        )
        steps["raw_scan"] = json.loads(scan.stdout.strip().splitlines()[-1])
        print(
            f"plain scan of the raw tables: {steps['raw_scan']['seconds']:.2f} s, {steps['raw_scan']['rows']}"
        )

        # the data date reaches dbt as the daily cycle passes it (riskmart.dbt.run_dbt): an environment variable
        history = {**env, "RISKMART_AS_OF_DATE": day_before.isoformat()}
        steps["seed"] = _run("dbt seed", _dbt(["seed"], warehouse, target / "seed"), history, dbt=True)
        steps["run_full"] = _run(
            "dbt run --full-refresh (every model)",
            _dbt(["run", "--full-refresh"], warehouse, target / "run"),
            history,
            dbt=True,
        )
        steps["run_full"]["run_results"] = _run_results(target / "run")
        steps["build_full"] = _run(
            "dbt build --full-refresh (every model, data test and unit test)",
            _dbt(["build", "--full-refresh"], warehouse, target / "build"),
            history,
            dbt=True,
        )
        steps["build_full"]["run_results"] = _run_results(target / "build")

        steps["ingest_day"] = _run("ingest the last day", _child("ingest", *where))
        # the daily cycle's build of the feature mart (riskmart.pipeline.DAILY_FEATURE_BUILD: every model but
        # the scored mart, which the cycle builds after scoring; data tests, no unit tests) in the target folder
        # of the build before it, as the cycle keeps one beside the warehouse
        steps["build_daily"] = _run(
            "dbt build, daily (incremental; the cycle's feature build: data tests, no unit tests)",
            _dbt(DAILY_FEATURE_BUILD, warehouse, target / "build"),
            {**env, "RISKMART_AS_OF_DATE": args.end_date.isoformat()},
            dbt=True,
        )
        steps["build_daily"]["run_results"] = _run_results(target / "build")
        report["load_average_after"] = os.getloadavg()

        models_full = steps["run_full"]["run_results"]["own_seconds_by_kind"].get("model", 0.0)
        report["ratio_models_to_raw_scan"] = round(models_full / steps["raw_scan"]["seconds"], 1)
        report["warehouse_mib"] = round(warehouse.stat().st_size / 2**20, 1)
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=1, default=str))
        print(json.dumps({k: v for k, v in report.items() if k != "steps"}, default=str))
        for name in ("run_full", "build_full", "build_daily"):
            print(f"{name}: own time {steps[name]['run_results']['own_seconds_by_kind']}")
            print(f"  slowest: {json.dumps(steps[name]['run_results']['slowest'][:8])}")
        print(f"results in {RESULTS}")
    finally:
        if not args.keep:
            # remove what this run created: its temporary folder, or the warehouse and export inside --workdir
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                for created in (
                    target,
                    landing if generate else None,
                    workdir / "truth" if generate else None,
                ):
                    if created is not None:
                        shutil.rmtree(created, ignore_errors=True)
                warehouse.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
