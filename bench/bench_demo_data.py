"""Demo data generator: time, files, rows and megabytes of `riskmart demo-data` at full size.

Default: 20,000 clients x 24 months ending 2026-06-30 (the speed goal is under one minute on the
project machine), written to a temporary folder that is removed afterwards (--keep keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
from datetime import date
from pathlib import Path

from demo.generate import generate_demo_data

PROJECT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        kb = int(
            next(
                x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
            ).split()[1]
        )
        memory = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores {cpu}{memory}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dirty-rate", type=float, default=0.0)
    parser.add_argument("--shift-months", type=int, default=0)
    parser.add_argument(
        "--dir", type=Path, default=None, help="Where to write (default: a temporary folder)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the generated folder.")
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "results" / "demo_data.json")
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="bench_demo_data_"))
    try:
        summary = generate_demo_data(
            landing=root / "landing",
            truth=root / "truth",
            clients=args.clients,
            months=args.months,
            end_date=args.end_date,
            seed=args.seed,
            dirty_rate=args.dirty_rate,
            shift_months=args.shift_months,
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    csv_files = sum(n for t, n in summary["files"].items() if t != "hcpn")
    csv_rows = sum(n for t, n in summary["rows"].items() if t != "hcpn")
    result = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "command": (
            f"python -m bench demo_data -- --clients {args.clients} --months {args.months} "
            f"--dirty-rate {args.dirty_rate} --shift-months {args.shift_months}"
        ),
        "seconds": summary["seconds"],
        "csv_files": csv_files,
        "csv_rows": csv_rows,
        "bureau_files": summary["files"].get("hcpn", 0),
        "megabytes": summary["megabytes"],
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "summary"}, indent=1))
    print(json.dumps({"rows": summary["rows"], "default_events": summary["default_events"]}))
    print(
        f"| {result['date']} | {args.clients:,} x {args.months} | {args.dirty_rate} | {result['seconds']:.1f} s "
        f"| {csv_files:,} + {result['bureau_files']:,} | {csv_rows:,} | {result['megabytes']:,.0f} |"
    )


if __name__ == "__main__":
    main()
