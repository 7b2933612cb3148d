"""`riskmart demo-data`: a deterministic demo export of a B2B lender, and its ground truth.

The generative model is documented in demo/README.md; the code lives beside this module:
`model.py` (simulation), `truth.py` (default events and true default probabilities), `export.py`
(the landing layout of the data contract), `dirty.py` (rows and files the contract rejects).
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path

from demo.calendar import to_date
from demo.export import LandingWriter
from demo.model import simulate
from demo.truth import event_counts, write_truth


class LandingNotEmptyError(ValueError):
    """The landing folder already holds files: the generator never mixes two exports."""


def generate_demo_data(
    landing: Path,
    truth: Path,
    clients: int,
    months: int,
    end_date: date,
    seed: int,
    dirty_rate: float,
    shift_months: int,
) -> dict:
    """Write the landing export and the ground truth; return a JSON-able summary.

    The export is written into a temporary folder beside `landing` and renamed into place at the end,
    so an interrupted run leaves no half-written landing folder.
    """
    if clients < 1 or months < 1:
        raise ValueError(f"need at least one client and one month (got clients={clients}, months={months})")
    if not 0 <= dirty_rate <= 0.5:
        raise ValueError(f"dirty_rate must be between 0 and 0.5 (got {dirty_rate})")
    if seed < 0:
        raise ValueError(f"seed must be >= 0 (got {seed})")
    if shift_months < 0:
        raise ValueError(f"shift_months must be >= 0 (got {shift_months})")
    landing, truth = Path(landing), Path(truth)
    if landing.exists() and (not landing.is_dir() or any(landing.iterdir())):
        raise LandingNotEmptyError(
            f"landing folder {landing} is not empty; remove it or choose another --landing "
            "(the generator does not mix two exports)"
        )
    if truth.resolve().is_relative_to(landing.resolve()):
        raise ValueError(f"truth folder {truth} must be outside the landing folder {landing}")
    started = time.perf_counter()
    sim = simulate(clients, months, end_date, seed, shift_months)
    landing.parent.mkdir(parents=True, exist_ok=True)
    staging = landing.parent / f".{landing.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        stats = LandingWriter(sim, staging, dirty_rate).write_all()
        truth_rows = write_truth(sim, truth)
        if landing.exists():
            landing.rmdir()
        staging.rename(landing)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    cal = sim.cal
    dirty_by_kind: dict[str, int] = {}
    dirty_by_table: dict[str, dict[str, int]] = {}
    for key, count in sorted(stats.dirty_rows.items()):
        if count <= 0:
            continue
        table, kind = key.split(".", 1) if "." in key else ("files", key.split(":", 1)[1])
        dirty_by_kind[kind] = dirty_by_kind.get(kind, 0) + count
        dirty_by_table.setdefault(table, {})[kind] = count
    return {
        "landing": str(landing),
        "truth": str(truth),
        "seed": seed,
        "clients": clients,
        "months": months,
        "first_export_date": to_date(cal.first_export).isoformat(),
        "end_date": to_date(cal.last_export).isoformat(),
        "shift_from": to_date(int(cal.month_start[cal.shift_start_month])).isoformat()
        if shift_months
        else None,
        "files": dict(stats.files),
        "rows": dict(stats.rows),
        "megabytes": round(stats.bytes / 1e6, 1),
        "default_events": event_counts(sim),
        "truth_rows": truth_rows,
        "dirty_rows": dirty_by_kind,
        "dirty_rows_by_table": dirty_by_table,
        "dirty_files": stats.dirty_files,
        "seconds": round(time.perf_counter() - started, 2),
    }
