"""The soak: `riskmart backfill` over the last N daily exports of a small demo export, SIGKILLed at a random
point (seeded) on a third of the days and resumed each time with the same command, gives the warehouse (every
table) and the published bundle of a clean, unbroken backfill.

    python -m riskmart.tests.soak --days 60 [--clients 40] [--retrain-days 30] [--seed N] [--work DIR]
                                                                                      (`make soak`)

The suite runs a two-day one (test_crash_safety.py). Each kill lands at a uniformly random moment of its day's
cycle (as long as that day took in the clean backfill), so kills fall inside every step in proportion to its
time. The clean and the killed backfill run side by side.
"""

from __future__ import annotations

import argparse
import queue
import random
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from conftest import DEMO_END_DATE, write_demo_export
from riskmart.pipeline import STEP_STARTED, STEPS
from riskmart.tests.crash import (
    PROJECT,
    RISKMART,
    bundle_snapshot,
    cycle_env,
    differences,
    warehouse_snapshot,
)

WAREHOUSE = "riskmart.duckdb"
DAY_RULE = re.compile(r"─ as of (\d{4}-\d{2}-\d{2}) ─")
STEP_MARK = STEP_STARTED.split("{", 1)[0]
RESUMED = re.compile(r"(\d+) of (\d+) days already done: resuming at (\d{4}-\d{2}-\d{2})")


@dataclass
class Kill:
    day: date
    fraction: float  # of the day's cycle (as long as it took in the clean backfill) when the kill comes
    after_seconds: float | None = None  # into the day's cycle: set when the day starts
    step: str | None = None  # the step it landed in (the last one started); None: the cycle ended first
    resumed_at: date | None = None  # where the next backfill resumed


@dataclass
class SoakResult:
    seed: int
    days: list[date]
    kills: list[Kill]
    clean_seconds: float
    killed_seconds: float
    differences: list[str]
    attempts: int = 0
    day_seconds: dict[date, float] = field(default_factory=dict)


def _stream(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, queue.Queue]:
    process = subprocess.Popen(
        [*RISKMART, *args], env=env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put((time.monotonic(), line))
        lines.put((time.monotonic(), None))

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def clean_backfill(args: list[str], env: dict[str, str], day_seconds: dict[date, float]) -> None:
    """An unbroken backfill; fills `day_seconds` (how long each day's cycle took) as days end."""
    process, lines = _stream(args, env)
    output, current = [], None
    while True:
        at, line = lines.get()
        if line is None:
            break
        output.append(line)
        if match := DAY_RULE.search(line):
            if current is not None:
                day_seconds[current[0]] = at - current[1]
            current = (date.fromisoformat(match.group(1)), at)
    if current is not None:
        day_seconds[current[0]] = time.monotonic() - current[1]
    assert process.wait() == 0, "".join(output[-60:])


def killed_backfill(
    args: list[str], env: dict[str, str], kills: list[Kill], seconds_of: Callable[[date], float], log
) -> int:
    """The backfill, SIGKILLed at each kill's moment (its fraction of `seconds_of(day)` into the day) and
    started again, until it completes; the number of backfill processes run."""
    pending = sorted(kills, key=lambda k: k.day)
    attempts = 0
    previous: Kill | None = None
    while True:
        attempts += 1
        process, lines = _stream(args, env)
        output, deadline, step, target = [], None, None, None
        while True:
            try:
                at, line = lines.get(timeout=0.005)
            except queue.Empty:
                at, line = time.monotonic(), ""
            if line is None:
                break
            output.append(line)
            if previous is not None and (match := RESUMED.search(line)):
                previous.resumed_at = date.fromisoformat(match.group(3))
                previous = None
            day = date.fromisoformat(match.group(1)) if (match := DAY_RULE.search(line)) else None
            while day and pending and day > pending[0].day:
                log(f"  no kill on {pending.pop(0).day}: its cycle ended before the kill's moment")
            if day and pending and day == pending[0].day:
                target = pending[0]
                target.after_seconds = target.fraction * seconds_of(day)
                deadline = at + target.after_seconds
            if target is not None and line.strip().startswith(STEP_MARK):
                step = line.strip()[len(STEP_MARK) :]
            if deadline is not None and at >= deadline:
                process.send_signal(signal.SIGKILL)
                target.step = step
                pending.pop(0)
                log(f"  killed on {target.day} after {target.after_seconds:.1f} s, in step {step!r}")
                previous = target
                break
        process.wait()
        if process.returncode == 0:
            for kill in pending:
                log(f"  no kill on {kill.day}: its cycle ended before the kill's moment")
            return attempts
        assert process.returncode == -signal.SIGKILL, "".join(output[-60:])


def random_kills(days: list[date], seed: int, share: float = 1 / 3) -> list[Kill]:
    """Kills on `share` of the days (at least one), each at a uniformly random fraction of its day's cycle."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(sorted(days), k=max(1, round(len(days) * share))))
    return [Kill(d, rng.random()) for d in chosen]


def soak(work: Path, *, days: int, clients: int, seed: int, retrain_days: int = 30, log=print) -> SoakResult:
    """The clean and the killed backfill run side by side; a kill's moment is its fraction of the day's
    duration in the clean one (of the clean days' median while the clean backfill has not reached it)."""
    landing, truth = write_demo_export(work, clients=clients)
    retrain = {"RISKMART_RETRAIN_INTERVAL_DAYS": str(retrain_days)}
    dates = [DEMO_END_DATE - timedelta(days=days - 1 - i) for i in range(days)]
    args = ["backfill", "--from", dates[0].isoformat(), "--to", dates[-1].isoformat()]
    kills = random_kills(dates, seed)
    log(f"{days} days ({clients} clients), seed {seed}: kills on {', '.join(str(k.day) for k in kills)}")

    day_seconds: dict[date, float] = {}
    started = time.monotonic()
    clean_done: list[float] = []
    errors: list[BaseException] = []

    def clean() -> None:
        try:
            clean_backfill(
                args, cycle_env(landing, truth, work / "clean" / WAREHOUSE, **retrain), day_seconds
            )
        except BaseException as exc:  # reported after the killed backfill
            errors.append(exc)
        clean_done.append(time.monotonic() - started)

    clean_thread = threading.Thread(target=clean)
    clean_thread.start()

    def seconds_of(day: date) -> float:
        if day in day_seconds:
            return day_seconds[day]
        later = sorted(v for d, v in day_seconds.items() if d != dates[0])
        return later[len(later) // 2] if later else 30.0

    killed_env = cycle_env(landing, truth, work / "killed" / WAREHOUSE, **retrain)
    attempts = killed_backfill(args, killed_env, kills, seconds_of, log)
    killed_seconds = time.monotonic() - started
    clean_thread.join()
    if errors:
        raise errors[0]
    assert sorted(day_seconds) == dates, f"the clean backfill ran {sorted(day_seconds)}"

    found = differences(
        warehouse_snapshot(work / "killed" / WAREHOUSE), warehouse_snapshot(work / "clean" / WAREHOUSE)
    )
    found += differences(
        bundle_snapshot(work / "killed" / "published"), bundle_snapshot(work / "clean" / "published")
    )
    return SoakResult(seed, dates, kills, clean_done[0], killed_seconds, found, attempts, day_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--retrain-days", type=int, default=30, help="the champion's age that retrains")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument("--work", type=Path, default=None, help="default: a temporary folder")
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"soak seed {seed} (rerun with --seed {seed})", flush=True)
    work = options.work or Path(tempfile.mkdtemp(prefix="riskmart-soak-"))
    result = soak(
        work,
        days=options.days,
        clients=options.clients,
        seed=seed,
        retrain_days=options.retrain_days,
        log=lambda m: print(m, flush=True),
    )
    landed = ", ".join(f"{s or 'missed'}: {sum(k.step == s for k in result.kills)}" for s in (*STEPS, None))
    print(
        f"{len(result.days)} days, {len(result.kills)} kills ({landed}),"
        f" {result.attempts} backfill runs; clean {result.clean_seconds:.0f} s, killed and resumed"
        f" {result.killed_seconds:.0f} s; seed {seed}; work folder {work}"
    )
    if result.differences:
        print("DIFFERENT from the clean backfill:\n" + "\n".join(result.differences))
        raise SystemExit(1)
    print("identical to the clean backfill: every table of the warehouse and the published bundle")


if __name__ == "__main__":
    main()
