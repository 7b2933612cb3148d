"""The soak: `riskmart backfill` over the last N daily exports of a small demo export, SIGKILLed at a random
point (seeded) on a third of the days and resumed each time with the same command, gives the warehouse (every
table) and the published bundle of a clean, unbroken backfill.

    python -m riskmart.tests.soak --days 60 [--clients 40] [--retrain-days 30] [--seed N] [--work DIR]
                                                                                      (`make soak`)

The suite runs a two-day one (test_crash_safety.py). Each kill lands at a uniformly random moment of its day's
steps (as long as they took in the clean backfill), so kills fall inside every step in proportion to its
time. The clean and the killed backfill run side by side.
"""

from __future__ import annotations

import argparse
import queue
import random
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from conftest import DEMO_END_DATE, write_demo_export
from riskmart.pipeline import STEP_STARTED, STEPS
from riskmart.tests.crash import (
    bundle_snapshot,
    cycle_env,
    differences,
    start,
    warehouse_snapshot,
)

WAREHOUSE = "riskmart.duckdb"
DAY_RULE = re.compile(r"─ as of (\d{4}-\d{2}-\d{2}) ─")
STEP_DONE = re.compile(r"✓ (.+) \(([\d.]+) s\)$")
RESUMED = re.compile(r"(\d+) of (\d+) days already done: resuming at (\d{4}-\d{2}-\d{2})")


@dataclass
class Kill:
    day: date
    fraction: float  # of the day's cycle (its steps as long as they took in the clean backfill)
    step: str | None = None  # the step the kill lands in; None: it never came
    after_seconds: float | None = None  # into that step
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


StepPlan = list[tuple[str, float]]  # a day's steps in order, with their seconds


def step_plans(output: str | list[str], plans: dict[date, StepPlan] | None = None) -> dict[date, StepPlan]:
    """The steps of each day of a backfill's output (`✓ <step> (n s)` lines after each day's rule)."""
    plans = {} if plans is None else plans
    day = None
    for line in output.splitlines() if isinstance(output, str) else output:
        if match := DAY_RULE.search(line):
            day = date.fromisoformat(match.group(1))
            plans[day] = []
        elif day and (match := STEP_DONE.match(line.strip())):
            plans[day].append((match.group(1), float(match.group(2))))
    return plans


def clean_backfill(args: list[str], env: dict[str, str], plans: dict[date, StepPlan]) -> None:
    """An unbroken backfill; fills `plans` with each day's steps and their seconds as they end."""
    process, lines = start(args, env)
    output = []
    while True:
        _, line = lines.get()
        if line is None:
            break
        output.append(line)
        if DAY_RULE.search(line) or STEP_DONE.match(line.strip()):
            step_plans(output, plans)
    assert process.wait() == 0, "".join(output[-60:])


def _aim(kill: Kill, plan: StepPlan) -> tuple[str, float]:
    """The step and the seconds into it where `kill.fraction` of the day's cycle falls."""
    total = sum(seconds for _, seconds in plan)
    moment = kill.fraction * total
    for step, seconds in plan:
        if moment < seconds:
            return step, moment
        moment -= seconds
    return plan[-1][0], plan[-1][1]


def killed_backfill(
    args: list[str], env: dict[str, str], kills: list[Kill], plan_of: Callable[[date], StepPlan], log
) -> int:
    """The backfill, SIGKILLed at each kill's moment and started again until it completes; the number of
    backfill processes run. A kill aims at a step of its day and a moment into it (`plan_of(day)`, the
    clean day's steps); when this run's step ends sooner, the kill comes as it ends (still inside the run)."""
    pending = sorted(kills, key=lambda k: k.day)
    attempts = 0
    previous: Kill | None = None
    while True:
        attempts += 1
        process, lines = start(args, env)
        output, deadline, aim, target, step_started = [], None, None, None, 0.0
        while True:
            try:
                at, line = lines.get(timeout=0.005)
            except queue.Empty:
                at, line = time.monotonic(), ""
            if line is None:
                break
            if line:  # "" is a poll with nothing new
                output.append(line)
            text = line.strip()
            if previous is not None and (match := RESUMED.search(line)):
                previous.resumed_at = date.fromisoformat(match.group(3))
                previous = None
            day = date.fromisoformat(match.group(1)) if (match := DAY_RULE.search(line)) else None
            while day and pending and day > pending[0].day:
                log(f"  no kill on {pending.pop(0).day}: its step never started")
                aim = deadline = None
            if (
                (match := DAY_RULE.search(line))
                and pending
                and date.fromisoformat(match.group(1)) == pending[0].day
            ):
                target = pending[0]
                aim = _aim(target, plan_of(target.day))
            if aim is not None and text == STEP_STARTED.format(step=aim[0]):
                step_started, deadline = at, at + aim[1]
            step_ended = aim is not None and (match := STEP_DONE.match(text)) and match.group(1) == aim[0]
            if deadline is not None and (at >= deadline or step_ended):
                process.send_signal(signal.SIGKILL)
                target.step, target.after_seconds = aim[0], at - step_started
                pending.pop(0)
                log(f"  killed on {target.day}, {target.after_seconds:.1f} s into {target.step!r}")
                previous = target
                break
        process.wait()
        if process.returncode == 0:
            for kill in pending:
                log(f"  no kill on {kill.day}: its step never started")
            return attempts
        assert process.returncode == -signal.SIGKILL, "".join(output[-60:])


def random_kills(days: list[date], seed: int, share: float = 1 / 3) -> list[Kill]:
    """Kills on `share` of the days (at least one), each at a uniformly random fraction of its day's cycle."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(sorted(days), k=max(1, round(len(days) * share))))
    return [Kill(d, rng.random()) for d in chosen]


def soak(work: Path, *, days: int, clients: int, seed: int, retrain_days: int = 30, log=print) -> SoakResult:
    """The clean and the killed backfill run side by side; a kill's moment is its fraction of the day's
    steps as they took in the clean one."""
    landing, truth = write_demo_export(work, clients=clients)
    retrain = {"RISKMART_RETRAIN_INTERVAL_DAYS": str(retrain_days)}
    dates = [DEMO_END_DATE - timedelta(days=days - 1 - i) for i in range(days)]
    args = ["backfill", "--from", dates[0].isoformat(), "--to", dates[-1].isoformat()]
    kills = random_kills(dates, seed)
    log(f"{days} days ({clients} clients), seed {seed}: kills on {', '.join(str(k.day) for k in kills)}")

    plans: dict[date, StepPlan] = {}
    started = time.monotonic()
    clean_done: list[float] = []
    errors: list[BaseException] = []

    def clean() -> None:
        try:
            clean_backfill(args, cycle_env(landing, truth, work / "clean" / WAREHOUSE, **retrain), plans)
        except BaseException as exc:  # reported after the killed backfill
            errors.append(exc)
        clean_done.append(time.monotonic() - started)

    clean_thread = threading.Thread(target=clean)
    clean_thread.start()

    def plan_of(day: date) -> StepPlan:
        # the clean day's steps; while the clean backfill has not reached it, the latest day it finished
        days_seen = sorted(plans)
        done = days_seen if clean_done else days_seen[:-1]
        if day in done:
            return plans[day]
        later = [d for d in done if d != dates[0]] or done
        return plans[max(later)] if later else [(STEPS[0], 10.0)]

    killed_env = cycle_env(landing, truth, work / "killed" / WAREHOUSE, **retrain)
    attempts = killed_backfill(args, killed_env, kills, plan_of, log)
    killed_seconds = time.monotonic() - started
    clean_thread.join()
    if errors:
        raise errors[0]
    assert sorted(plans) == dates, f"the clean backfill ran {sorted(plans)}"

    found = differences(
        warehouse_snapshot(work / "killed" / WAREHOUSE), warehouse_snapshot(work / "clean" / WAREHOUSE)
    )
    found += differences(
        bundle_snapshot(work / "killed" / "published"), bundle_snapshot(work / "clean" / "published")
    )
    return SoakResult(seed, dates, kills, clean_done[0], killed_seconds, found, attempts)


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
