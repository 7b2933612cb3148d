"""Benchmarks: one bench_<name>.py per measured thing, each with a main(); `python -m bench` runs them."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, date, datetime

from riskmart.settings import PROJECT_DIR


def timed_process(
    label: str,
    command: list[str],
    env: dict[str, str] | None = None,
    *,
    ok_exit_codes: tuple[int, ...] = (0,),
) -> tuple[dict, str]:
    """Run one step in a child process: its wall time, CPU time and peak resident memory (from wait4),
    and its output. An exit code outside `ok_exit_codes` stops the benchmark with the output's tail."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if returncode not in ok_exit_codes:
        print(output[-4000:], file=sys.stderr)
        raise SystemExit(f"{label} failed (exit {returncode})")
    step = {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }
    print(
        f"{label}: {step['seconds']:.1f} s wall, {step['cpu_seconds']:.1f} s CPU, {step['peak_rss_mib']:.0f} MiB peak",
        flush=True,
    )
    return step, output


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """--clients, --months and --end-date: the demo export a benchmark generates (the issues' size, 20,000
    clients x 24 months, ending 2026-06-30, by default)."""
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 6, 30))


def export_options(args: argparse.Namespace) -> list[str]:
    """The options of `add_export_options` as given, to pass on to a command that generates the export."""
    return [
        "--clients",
        str(args.clients),
        "--months",
        str(args.months),
        "--end-date",
        args.end_date.isoformat(),
    ]


def report_header(args: argparse.Namespace) -> dict:
    """When, where and at what size a benchmark ran (`args` from `add_export_options`), for its report."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "load_average_before": os.getloadavg(),
        "size": f"{args.clients} clients x {args.months} months, export ending {args.end_date}",
    }
