"""Ingest benchmark: `riskmart ingest` (validated, quarantined, logged) against plain DuckDB reads of the
same files, measured in the same run.

    .venv/bin/python -m bench ingest                                   # 20,000 clients x 24 months
    .venv/bin/python -m bench ingest -- --clients 5000 --landing /tmp/l  # reuse or create a landing there

Plain reads, both with the contract's column list given (no sniffing, which alone costs ~0.1 s per file)
and `ignore_errors`, `strict_mode = false` (to get through the broken files of a dirty landing):
* `parse`: `SELECT count(*) FROM read_csv(files)` per table, every column as text: the CSV parse alone;
* `load`: `CREATE TABLE AS SELECT * FROM read_csv(files)` per table with the contract's types, into a fresh
  DuckDB file, plus `read_json` of the bureau files: a typed load without validation.
The ingest is timed from a fresh warehouse, then run again to time a re-run that has nothing new to load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from bench import add_export_options
from contract import CSV_TABLES, HCPN_FOLDER
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
    args = parser.parse_args()

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
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
