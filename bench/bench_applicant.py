"""Applicant scoring benchmark (issue 10): where the time of one applicant's score goes.

    .venv/bin/python -m bench applicant                      # 200 applicants, one at a time
    .venv/bin/python -m bench applicant -- --applicants 1000

Publishes a small bundle with a champion (api/tests/snapshots.py, as the API tests and `bench api` do),
loads its scorer (scoring/applicant.py) and scores applicants one by one: with the champion (the route's
work: the model, then the bundle's scoring query) and with the rules alone (the scoring query only). The
ratio query / whole is what the marts' SQL costs an applicant; the absolute times follow the machine's
load. Writes bench/results/applicant.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "applicant.json"


def _timings(scorer, applications) -> dict:
    seconds = []
    for application in applications:
        started = time.perf_counter()
        scorer.score(application)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 2),
        "p90_ms": round(seconds[int(len(seconds) * 0.9)] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=200)
    args = parser.parse_args()

    from api.tests.snapshots import build_published_snapshot, model_card, synthetic_scores
    from bundle import open_bundle
    from scoring.applicant import ApplicantScorer, Application, BureauReport

    rng = random.Random(7)
    day = date(2025, 6, 30)
    applications = [
        Application(
            application_date=day,
            requested_credit_limit=rng.uniform(0, 5e7),
            industry=rng.choice(["retail", "construction", "services", "agriculture", None]),
            bureau_report=None
            if rng.random() < 0.2
            else BureauReport(day - timedelta(days=rng.randint(0, 300)), "aprobado", rng.uniform(300, 900)),
        )
        for _ in range(args.applicants)
    ]
    with tempfile.TemporaryDirectory(prefix="riskmart-bench-applicant-") as work:
        published = build_published_snapshot(Path(work) / "published", synthetic_scores(20, 2), model_card())
        bundle = open_bundle(published.path)
        started = time.perf_counter()
        scorer = ApplicantScorer(bundle)
        load_ms = round((time.perf_counter() - started) * 1000, 1)
        whole = _timings(scorer, applications)
        scorer.model = None  # the rules alone: what the scoring query costs
        query = _timings(scorer, applications)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "load_average_before": os.getloadavg(),
        "applicants": args.applicants,
        "scorer_load_ms": load_ms,
        "with_champion": whole,
        "query_only": query,
        "query_share_of_median": round(query["median_ms"] / whole["median_ms"], 3),
    }
    print(json.dumps(report, indent=1), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1), encoding="utf-8")
