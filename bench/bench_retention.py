"""Warehouse growth with and without retention (issue 13, item 3): the DuckDB file's size day after day of
`riskmart run`, and what a year of daily runs projects to.

    .venv/bin/python -m bench retention                                  # 20,000 clients x 24 months
    .venv/bin/python -m bench retention -- --landing /data/landing --budget-minutes 15

Generates the export (unless --landing is given), runs `riskmart run --as-of <end - days>` on an empty
warehouse (the history: every file up to then, the first training, the first scores), copies that warehouse
into two arms and then runs the daily cycle one day at a time, the same day in both arms in turn, until the
last export day or until --budget-minutes of daily runs have passed:

* `without`: `RISKMART_MAINTAIN_AFTER_RUN=false`, the cycle as it was before retention;
* `with`: the cycle as shipped, ending with `riskmart maintain`, but keeping full contributions for only
  --keep-days score dates (default 3) so that the window is full after a few days and the days after it
  show the steady state, where each run clears one old day of contributions as it adds one. The shipped
  window (35 days) holds more days of contributions: the projection adds them once (see below).

After every run it records the file's size and DuckDB's own count of used and free blocks. Daily growth is
the least-squares slope of the file size, and of the used blocks (the data without the file's free space,
which jumps between runs), over the days measured (`with`: only the days after its window is full). The projection after N days is the size after the history plus N times that growth, plus for `with`
the contributions of the shipped window beyond --keep-days, priced at the measured difference between the
arms' daily growth (an upper bound: the difference also holds the pruned change log). Linear extrapolation
overstates both arms alike: the feature mart keeps only its latest 31 daily dates and month ends, so after a
month its growth falls to month ends. Writes bench/results/retention.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from bench import add_export_options, export_options, report_header, timed_process

RESULTS = Path(__file__).parent / "results" / "retention.json"
RISKMART = str(Path(sys.executable).parent / "riskmart")
ARMS = ("without", "with")
SHIPPED_KEEP_DAYS = 35


def _blocks(warehouse: Path) -> dict:
    with duckdb.connect() as con:
        con.execute("attach ? as w (read_only)", [str(warehouse)])
        block_size, used, free = con.execute(
            "select block_size, used_blocks, free_blocks from pragma_database_size() where database_name = 'w'"
        ).fetchone()
    return {
        "file_bytes": warehouse.stat().st_size,
        "used_bytes": used * block_size,
        "free_bytes": free * block_size,
    }


def _slope(points: list[tuple[int, int]]) -> float | None:
    """Least-squares bytes per day through (day number, bytes) points; None with fewer than two."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


def _mb(n: float | None) -> float | None:
    return None if n is None else round(n / 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_export_options(parser)
    parser.add_argument("--landing", type=Path, help="an existing landing folder ending on --end-date")
    parser.add_argument(
        "--days",
        type=int,
        default=30,
        help="daily runs at most (the history ends this many days before --end-date)",
    )
    parser.add_argument(
        "--budget-minutes", type=float, default=15.0, help="stop starting new days after this"
    )
    parser.add_argument("--keep-days", type=int, default=3, help="contributions window of the `with` arm")
    parser.add_argument(
        "--history",
        type=Path,
        help="reuse the history warehouse of an earlier run (its folder, kept with --keep) as of end - days",
    )
    parser.add_argument(
        "--skip-days", type=int, default=0, help="leave the first N daily runs out of the growth slopes"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="riskmart-bench-retention-")).resolve()
    landing = (args.landing or work / "landing").resolve()
    history_day = args.end_date - timedelta(days=args.days)
    base_env = {
        "RISKMART_LANDING": str(landing),
        "RISKMART_TRUTH": str(landing.parent / "truth"),
    }
    report: dict = {**report_header(args), "history_day": str(history_day), "keep_days": args.keep_days}
    try:
        if args.landing is None:
            timed_process("generate", [RISKMART, "demo-data", *export_options(args)], base_env)
        history = work / "history" / "riskmart.duckdb"
        if args.history:
            shutil.copytree(args.history, history.parent, ignore=shutil.ignore_patterns("*.lock", "*.tmp"))
            # dbt parses the project again (the code may have changed since that run)
            shutil.rmtree(history.parent / "dbt" / "target", ignore_errors=True)
            step = {"reused": str(args.history)}
        else:
            step, _ = timed_process(
                f"history: riskmart run --as-of {history_day}",
                [RISKMART, "run", "--as-of", history_day.isoformat()],
                {**base_env, "RISKMART_WAREHOUSE": str(history), "RISKMART_MAINTAIN_AFTER_RUN": "false"},
            )
        report["history_run"] = {**step, **_blocks(history)}
        arms = {}
        for arm in ARMS:
            folder = work / arm
            shutil.copytree(history.parent, folder)
            env = {**base_env, "RISKMART_WAREHOUSE": str(folder / "riskmart.duckdb")}
            if arm == "without":
                env["RISKMART_MAINTAIN_AFTER_RUN"] = "false"
            else:
                env["RISKMART_CONTRIBUTIONS_KEEP_DAYS"] = str(args.keep_days)
            arms[arm] = {"env": env, "warehouse": folder / "riskmart.duckdb", "days": []}
        started = time.monotonic()
        for number in range(1, args.days + 1):
            if time.monotonic() - started > args.budget_minutes * 60:
                break
            day = history_day + timedelta(days=number)
            for arm in ARMS:
                step, _ = timed_process(
                    f"{arm}: riskmart run --as-of {day}",
                    [RISKMART, "run", "--as-of", day.isoformat()],
                    arms[arm]["env"],
                )
                sizes = _blocks(arms[arm]["warehouse"])
                arms[arm]["days"].append(
                    {"day": number, "as_of": str(day), "seconds": step["seconds"], **sizes}
                )
                print(
                    f"  {arm} day {number}: file {_mb(sizes['file_bytes'])} MB, used {_mb(sizes['used_bytes'])} MB",
                    flush=True,
                )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    base = report["history_run"]["file_bytes"]
    growth = {}
    for arm in ARMS:
        days = arms[arm]["days"]
        # from the first day measured (after --skip-days; for `with`, once its window is full) on, with the
        # size the day before as the starting point (day 0: the history)
        first = max(args.skip_days, 0 if arm == "without" else args.keep_days)
        sizes = {0: base, **{d["day"]: d["file_bytes"] for d in days}}
        points = [(day, size) for day, size in sorted(sizes.items()) if day >= first]
        steady = [d for d in days if d["day"] > first]
        growth[arm] = _slope(points)
        # DuckDB's used blocks: the data alone, without the file's free space (which jumps between runs)
        used = {0: report["history_run"]["used_bytes"], **{d["day"]: d["used_bytes"] for d in days}}
        used_growth = _slope([(day, size) for day, size in sorted(used.items()) if day >= first])
        report[arm] = {
            "days": days,
            "daily_growth_mb": _mb(growth[arm]),
            "daily_used_growth_mb": _mb(used_growth),
            "steady_days": len(steady),
        }
    if growth["without"] is not None and growth["with"] is not None:
        contributions_per_day = max(growth["without"] - growth["with"], 0)

        def projected(arm: str, n: int) -> float:
            if arm == "without":
                return base + n * growth[arm]
            # the shipped window holds min(n, 35) days of contributions; the arm measured held keep_days
            return (
                base + n * growth[arm] + (min(n, SHIPPED_KEEP_DAYS) - args.keep_days) * contributions_per_day
            )

        report["contributions_per_day_mb"] = _mb(contributions_per_day)
        report["projection_mb"] = {
            arm: {str(n): _mb(projected(arm, n)) for n in (30, 90, 365)} for arm in ARMS
        }
        report["growth_ratio_with_to_without"] = round(growth["with"] / growth["without"], 3)
    report["days_run"] = len(arms["without"]["days"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k not in ARMS}, indent=1))
    for arm in ARMS:
        print(
            f"{arm}: daily growth of the file {report[arm]['daily_growth_mb']} MB, of used blocks"
            f" {report[arm]['daily_used_growth_mb']} MB, over {report[arm]['steady_days']} days"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
