"""Benchmarks: one bench_<name>.py per measured thing, each with a main(); `python -m bench` runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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
