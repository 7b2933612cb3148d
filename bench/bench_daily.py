"""Daily build variants (issue 3, "Speed"): where the daily incremental `dbt build` spends its time, measured
side by side on copies of one warehouse.

    .venv/bin/python -m bench daily                                  # 20,000 clients x 24 months
    .venv/bin/python -m bench daily -- --landing /data/landing       # reuse a generated landing folder

Builds the history once (every file exported up to the day before --end-date ingested, then
`dbt build --full-refresh` as of that day); then, for each variant, copies that warehouse back to the path it
was built at (dbt re-parses the whole project when the warehouse path in its profile changes, which the daily
cycle never does), ingests the last day and runs the daily cycle's build of the feature mart
(riskmart.pipeline.DAILY_FEATURE_BUILD) with the variant's extra dbt flags:
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

from bench import add_export_options, export_options, report_header
from bench.bench_features import _child, _dbt, _run, _run_results
from riskmart.pipeline import DAILY_FEATURE_BUILD

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
    # every build runs at `live`: the history is built there, kept in `history`, and copied back per variant
    live, history = work / "live", work / "history"
    landing = (args.landing or work / "landing").resolve()
    day_before = args.end_date - timedelta(days=1)
    report: dict = {
        **report_header(args),
        "variants": {},
    }
    try:
        where = ["--workdir", str(live), "--landing", str(landing)]
        if args.landing is None:
            _run("generate", _child("generate", *where, *export_options(args)))
        _run("ingest up to the day before", _child("ingest", *where, "--as-of", day_before.isoformat()))
        env = {"RISKMART_WAREHOUSE": str(live / "riskmart.duckdb"), "RISKMART_AS_OF_DATE": str(day_before)}
        _run("dbt build --full-refresh", _dbt(["build", "--full-refresh"], *_paths(live)), env, dbt=True)
        shutil.copytree(live, history, ignore=shutil.ignore_patterns("landing", "truth"))

        for label, flags in VARIANTS.items():
            shutil.rmtree(live, ignore_errors=True)
            shutil.copytree(history, live)
            _run("ingest the last day", _child("ingest", "--workdir", str(live), "--landing", str(landing)))
            env = {
                "RISKMART_WAREHOUSE": str(live / "riskmart.duckdb"),
                "RISKMART_AS_OF_DATE": str(args.end_date),
            }
            build = [*DAILY_FEATURE_BUILD, *flags]
            step = _run(f"daily build, {label}", _dbt(build, *_paths(live)), env, dbt=True)
            results = _run_results(_paths(live)[1])
            elapsed = json.loads((_paths(live)[1] / "run_results.json").read_text())["elapsed_time"]
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
