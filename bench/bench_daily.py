"""Daily build variants (issue 3, "Speed"): where the daily incremental `dbt build` spends its time, measured
side by side on copies of one warehouse.

    .venv/bin/python -m bench daily                                  # 20,000 clients x 24 months
    .venv/bin/python -m bench daily -- --landing /data/landing       # reuse a generated landing folder

Builds the history once (every file exported up to the day before --end-date ingested, then
`dbt build --full-refresh` as of that day); then, for each variant, copies that warehouse, ingests the last
day and runs the daily cycle's build (riskmart.pipeline.DAILY_BUILD) with the variant's extra dbt flags:
as the cycle runs it, with one or four dbt threads (one thread makes the parts add up), with no data test
at all (the models alone), and with dbt's file log off. Reports each variant's wall time, dbt's own elapsed
time and the models' and tests' own time from run_results.json. Writes bench/results/daily.json; the
warehouses live in a temporary folder, removed unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from bench import add_export_options, report_header
from bench.bench_features import _child, _dbt, _run, _run_results
from riskmart.pipeline import DAILY_BUILD

RESULTS = Path(__file__).parent / "results" / "daily.json"
VARIANTS = {
    "as the cycle runs it": [],
    "one dbt thread": ["--threads", "1"],
    "four dbt threads": ["--threads", "4"],
    "models only (no data tests)": ["--exclude-resource-type", "test"],
    "dbt file log off": ["--log-level-file", "none"],
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_export_options(parser)
    parser.add_argument("--landing", type=Path, help="Reuse this landing folder (ending on --end-date).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_daily_")).resolve()
    history = work / "history"
    landing = (args.landing or work / "landing").resolve()
    day_before = args.end_date - timedelta(days=1)
    report: dict = {
        **report_header(args),
        "variants": {},
    }
    try:
        where = ["--workdir", str(history), "--landing", str(landing)]
        if args.landing is None:
            size = [
                "--clients",
                str(args.clients),
                "--months",
                str(args.months),
                "--end-date",
                str(args.end_date),
            ]
            _run("generate", _child("generate", *where, *size))
        _run("ingest up to the day before", _child("ingest", *where, "--as-of", day_before.isoformat()))
        env = {"RISKMART_WAREHOUSE": str(history / "riskmart.duckdb"), "RISKMART_AS_OF_DATE": str(day_before)}
        _run("dbt build --full-refresh", _dbt(["build", "--full-refresh"], *_paths(history)), env, dbt=True)

        for label, flags in VARIANTS.items():
            copy = work / "copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(history, copy, ignore=shutil.ignore_patterns("landing", "truth"))
            _run("ingest the last day", _child("ingest", "--workdir", str(copy), "--landing", str(landing)))
            env = {
                "RISKMART_WAREHOUSE": str(copy / "riskmart.duckdb"),
                "RISKMART_AS_OF_DATE": str(args.end_date),
            }
            step = _run(f"daily build, {label}", _dbt([*DAILY_BUILD, *flags], *_paths(copy)), env, dbt=True)
            results = _run_results(_paths(copy)[1])
            elapsed = json.loads((_paths(copy)[1] / "run_results.json").read_text())["elapsed_time"]
            step |= {
                "dbt_elapsed_seconds": round(elapsed, 2),
                "own_seconds_by_kind": results["own_seconds_by_kind"],
            }
            report["variants"][label] = step
            print(f"  dbt elapsed {elapsed:.2f} s, own time {results['own_seconds_by_kind']}", flush=True)
        report["load_average_after"] = os.getloadavg()
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=1, default=str))
        print(f"results in {RESULTS}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _paths(folder: Path) -> tuple[Path, Path]:
    """The warehouse and dbt target folder of one working copy (the cycle keeps dbt's target beside it)."""
    return folder / "riskmart.duckdb", folder / "dbt" / "target"


if __name__ == "__main__":
    main()
