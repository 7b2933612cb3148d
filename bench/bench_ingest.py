"""Ingest benchmark: `riskmart ingest` (validated, quarantined, logged) against plain DuckDB reads of the
same files, measured in the same run.

    .venv/bin/python -m bench ingest                                   # 20,000 clients x 24 months
    .venv/bin/python -m bench ingest -- --clients 5000 --landing /tmp/l  # reuse or create a landing there

Plain reads, both with the contract's column list given (no sniffing, which alone costs ~0.1 s per file)
and `ignore_errors`, `strict_mode = false` (to get through the broken files of a dirty landing):
* `parse`: `SELECT count(*) FROM read_csv(files)` per table, every column as text: the CSV parse alone;
* `load`: `CREATE TABLE AS SELECT * FROM read_csv(files)` per table with the contract's types, into a fresh
  DuckDB file, plus `read_json` of the bureau files: a typed load without validation.
The ingest is timed from a fresh warehouse, then run again to time a re-run that has nothing new to load,
without and with the hash cache (ingest.discovery.HashCache) a first cached run wrote.

    .venv/bin/python -m bench ingest -- --next-day WAREHOUSE --as-of 2026-06-30 --landing L --rounds 3
    .venv/bin/python -m bench ingest -- --next-day WAREHOUSE --as-of 2026-06-30 --landing L --cli

times instead the ingest of one new day as the daily cycle runs it: WAREHOUSE is one the cycle built as of the
day before from the landing L; each round ingests the day on a fresh copy of it, without the hash cache (every
file read and hashed) and with the cache the day before's run left (warmed by a discovery of the landing as
it was then: the whole landing's entries less the day's files), alternating; with --cli, as `riskmart ingest`
in a new process each time (so Great Expectations is imported each time, as in the daily cycle).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from bench import add_export_options
from contract import CSV_TABLES, HCPN_FOLDER
from ingest.discovery import discover
from ingest.loader import ingest_landing

RESULTS = Path(__file__).parent / "results"


def _landing(
    path: Path, clients: int, months: int, end_date: date, dirty_rate: float
) -> tuple[Path, float | None]:
    """The landing to benchmark on: reused when `path` already holds one, else generated."""
    if path.exists() and any(path.rglob("*.csv")):
        return path, None
    from demo.generate import generate_demo_data

    started = time.perf_counter()
    generate_demo_data(
        landing=path,
        truth=path.parent / f"{path.name}-truth",
        clients=clients,
        months=months,
        end_date=end_date,
        seed=7,
        dirty_rate=dirty_rate,
        shift_months=0,
    )
    return path, time.perf_counter() - started


def _files(landing: Path, folder: str, suffix: str) -> list[str]:
    return sorted(str(p) for p in (landing / folder).glob(f"*{suffix}"))


def plain_reads(landing: Path, scratch: Path) -> dict[str, float]:
    """Seconds of the two plain DuckDB reads of every landing file."""
    out = {}
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        started = time.perf_counter()
        for spec in CSV_TABLES:
            columns = {c.name: "VARCHAR" for c in spec.columns}
            con.execute(
                "SELECT count(*) FROM read_csv("
                "$files, header = true, auto_detect = false, columns = $columns, ignore_errors = true, strict_mode = false)",
                {"files": _files(landing, spec.folder, ".csv"), "columns": columns},
            ).fetchall()
        out["parse"] = time.perf_counter() - started
    database = scratch / "plain.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("SET enable_progress_bar = false")
        started = time.perf_counter()
        for spec in CSV_TABLES:
            columns = {c.name: c.type for c in spec.columns}
            con.execute(
                f"CREATE TABLE {spec.name} AS SELECT * FROM read_csv("  # noqa: S608 (our table names)
                "$files, header = true, auto_detect = false, columns = $columns, ignore_errors = true, strict_mode = false)",
                {"files": _files(landing, spec.folder, ".csv"), "columns": columns},
            )
        bureau = _files(landing, HCPN_FOLDER, ".json")
        if bureau:
            con.execute(
                "CREATE TABLE hcpn AS SELECT * FROM read_json($files, union_by_name = true, format = 'newline_delimited', ignore_errors = true)",
                {"files": bureau},
            )
        out["load"] = time.perf_counter() - started
    database.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_export_options(parser)
    parser.add_argument("--dirty-rate", type=float, default=0.0, help="generate dirty rows at this rate")
    parser.add_argument("--landing", type=Path, help="landing to reuse or create (default: a temporary one)")
    parser.add_argument(
        "--next-day", type=Path, metavar="WAREHOUSE", help="time one new day's ingest instead"
    )
    parser.add_argument("--as-of", type=date.fromisoformat, help="with --next-day: the new day")
    parser.add_argument("--rounds", type=int, default=3, help="with --next-day: rounds per side (default 3)")
    parser.add_argument(
        "--cli", action="store_true", help="with --next-day: `riskmart ingest` in a new process"
    )
    args = parser.parse_args()
    if args.next_day:
        if not (args.as_of and args.landing):
            parser.error("--next-day needs --as-of and --landing")
        next_day(args.next_day, args.landing, args.as_of, args.rounds, args.cli)
        return

    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        landing, generate_seconds = _landing(
            args.landing or scratch / "landing", args.clients, args.months, args.end_date, args.dirty_rate
        )
        files = [p for p in landing.rglob("*") if p.is_file()]
        size_mb = sum(p.stat().st_size for p in files) / 1e6
        # warm the page cache so that neither side pays for the first read from disk
        for path in files:
            path.read_bytes()
        plain = plain_reads(landing, scratch)
        warehouse = scratch / "riskmart.duckdb"
        load_before = os.getloadavg()
        result = ingest_landing(landing, warehouse)
        load_after = os.getloadavg()
        rerun = ingest_landing(landing, warehouse)
        cache = scratch / "landing_hashes.json"
        cached_first = ingest_landing(
            landing, warehouse, hash_cache=cache
        )  # reads every file, writes the cache
        cached_rerun = ingest_landing(landing, warehouse, hash_cache=cache)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = dict(
                con.execute("SELECT table_name, sum(rows_read) FROM raw.ingest_log GROUP BY 1").fetchall()
            )
        summary = {
            "date": datetime.now(UTC).date().isoformat(),
            "machine": f"{os.cpu_count()} cores {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, duckdb {duckdb.__version__}",
            "load_average_before_after": [round(load_before[0], 1), round(load_after[0], 1)],
            "clients": args.clients,
            "months": args.months,
            "landing": str(landing),
            "generate_seconds": None if generate_seconds is None else round(generate_seconds, 1),
            "files": len(files),
            "megabytes": round(size_mb, 1),
            "rows_read": {k: int(v) for k, v in rows.items()},
            "plain_parse_seconds": round(plain["parse"], 2),
            "plain_load_seconds": round(plain["load"], 2),
            "ingest_seconds": round(result.seconds, 2),
            "ingest_phases": {k: round(v, 2) for k, v in result.timings.items()},
            "ratio_to_plain_load": round(result.seconds / plain["load"], 2),
            "ratio_to_plain_parse": round(result.seconds / plain["parse"], 2),
            "rows_rejected": sum(f["rows_rejected"] for f in result.files),
            "peak_rss_megabytes": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rerun_seconds": round(rerun.seconds, 2),
            "rerun_loaded_files": len(rerun.files),
            "rerun_writing_the_hash_cache_seconds": round(cached_first.seconds, 2),
            "rerun_with_the_hash_cache_seconds": round(cached_rerun.seconds, 2),
            "rerun_phases": {k: round(v, 2) for k, v in rerun.timings.items()},
            "rerun_with_the_hash_cache_phases": {k: round(v, 2) for k, v in cached_rerun.timings.items()},
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


def _cli_ingest(landing: Path, warehouse: Path, as_of: date, cache: Path | None) -> dict:
    """`riskmart ingest` of the day in a new process (its wall and CPU seconds); without `cache`, --rehash."""
    command = [
        str(Path(sys.executable).parent / "riskmart"),
        "ingest",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--as-of",
        as_of.isoformat(),
        *([] if cache else ["--rehash"]),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"riskmart ingest failed: {process.stderr.read().decode()[-2000:]}")
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }


def next_day(base: Path, landing: Path, as_of: date, rounds: int, cli: bool = False) -> None:
    """One new day's ingest on fresh copies of `base`, without and with the day before's hash cache; with
    `cli`, as `riskmart ingest` in a new process each time."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-day-"))
    try:
        day_files = [p for p in landing.resolve().rglob(f"*{as_of.isoformat()}*") if p.is_file()]
        # the day before's cache: what a discovery of the landing remembers, less the day's files
        warm = scratch / "warm_hashes.json"
        discover(landing, hash_cache=warm)
        stored = json.loads(warm.read_text(encoding="utf-8"))
        for path in day_files:
            stored["files"].pop(str(path), None)
        warm.write_text(json.dumps(stored), encoding="utf-8")
        runs: dict[str, list[dict]] = {"without the cache": [], "with the cache": []}
        for _ in range(rounds):
            for side in runs:
                warehouse = scratch / "day.duckdb"
                shutil.copy(base, warehouse)
                cache = None
                if side == "with the cache":
                    cache = warehouse.parent / "landing_hashes.json"  # where `riskmart ingest` keeps it
                    shutil.copy(warm, cache)
                if cli:  # a new process, as the daily cycle starts: Great Expectations imported again
                    runs[side].append(_cli_ingest(landing, warehouse, as_of, cache))
                else:
                    result = ingest_landing(landing, warehouse, as_of=as_of, hash_cache=cache)
                    runs[side].append(
                        {
                            "seconds": round(result.seconds, 2),
                            "files_loaded": len(result.files),
                            "phases": {k: round(v, 2) for k, v in result.timings.items()},
                        }
                    )
                print(side, json.dumps(runs[side][-1]), flush=True)
        summary = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
            "warehouse": str(base),
            "as_of": as_of.isoformat(),
            "process": "riskmart ingest, a new process each" if cli else "ingest_landing in this process",
            "day_files": len(day_files),
            "landing_files": sum(1 for p in landing.rglob("*") if p.is_file()),
            "median_seconds": {
                side: sorted(r["seconds"] for r in rs)[len(rs) // 2] for side, rs in runs.items()
            },
            "rounds": runs,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest_next_day.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary["median_seconds"], indent=1))


if __name__ == "__main__":
    main()
