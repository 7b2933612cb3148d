"""The daily cycle (architecture.md): every step also runs alone, and a re-run gives the same result."""

from __future__ import annotations

import time
from datetime import date

from rich.console import Console

from riskmart.settings import Settings


def run_daily_cycle(settings: Settings, *, as_of: date | None, console: Console) -> dict:
    """Ingest the landing files exported on or before `as_of`, then build the dbt models."""
    from ingest.loader import ingest_landing

    from riskmart.dbt import run_dbt

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with console.status("ingest"):
        result = ingest_landing(settings.landing, settings.warehouse, as_of=as_of)
    timings["ingest"] = time.perf_counter() - started

    started = time.perf_counter()
    dbt_vars = {"as_of_date": as_of.isoformat()} if as_of else None
    with console.status("dbt build"):
        run_dbt(settings, ["build"], dbt_vars=dbt_vars)
    timings["dbt_build"] = time.perf_counter() - started

    summary = {
        "files": len(result.files),
        "rows_loaded": sum(f["rows_loaded"] for f in result.files),
        "rows_rejected": sum(f["rows_rejected"] for f in result.files),
        "files_rejected": sum(f["status"] == "rejected" for f in result.files),
        "seconds": {k: round(v, 2) for k, v in timings.items()},
    }
    console.print(summary)
    return summary
