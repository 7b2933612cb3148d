"""Applicant scoring equals the marts: generated applicants (hypothesis) scored by the API's scorer and, on the
same feature rows, by the pipeline itself (the daily scoring `ml.score` and the SQL dbt compiles for
fct_rule_scores and fct_client_scores); and a seed edit reaches both with nothing but the daily run."""

from __future__ import annotations

import csv
import math
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from api.routes.applicants import _application
from api.schemas import ApplicantRequest
from api.tests.conftest import start_server, stop_server
from bundle import current_bundle
from ml.score import score_date
from ml.warehouse import connect_warehouse
from riskmart.dbt import run_dbt
from riskmart.pipeline import run_daily_cycle
from riskmart.settings import PROJECT_DIR, Settings
from scoring.applicant import ApplicantScorer, Application, BureauReport, applicant_features

pytestmark = pytest.mark.slow

SCORE_COLUMNS = (
    "probability_of_default", "model_probability", "rule_probability", "score", "score_band", "rule_score",
    "segment", "risk_level", "recommended_action", "model_version", "scored_by",
)  # fmt: skip
MART_MODELS = ("fct_rule_scores", "fct_client_scores")


@dataclass
class Marts:
    """A copy of a real cycle's warehouse and the SQL dbt compiles for the rule and score marts (a full
    build), to run the marts over feature rows of our choosing."""

    settings: Settings
    compiled: dict[str, str]
    as_of: date

    @classmethod
    def of(cls, source: Settings, work: Path, as_of: date, project_dir: Path = PROJECT_DIR) -> Marts:
        work.mkdir(parents=True, exist_ok=True)
        warehouse = work / "riskmart.duckdb"
        shutil.copyfile(source.warehouse, warehouse)
        settings = Settings(
            warehouse=warehouse, registry_dir=source.registry_path, dbt_project_dir=project_dir
        )
        result = run_dbt(
            settings, ["compile", "--full-refresh", "--select", *MART_MODELS], as_of=as_of, quiet=True
        )
        compiled = {r.node.name: r.node.compiled_code for r in result.results}
        return cls(settings, compiled, as_of)

    def score(self, feature_rows) -> dict[str, dict]:
        """fct_client_scores, by client, when `feature_rows` are the feature mart's only rows: the
        daily scoring writes the champion's output for them, then the marts' compiled SQL runs."""
        with connect_warehouse(self.settings.warehouse) as con:
            con.register("feature_rows", feature_rows)
            month_end = (self.as_of + timedelta(days=1)).day == 1
            con.execute("delete from marts.fct_client_features")
            con.execute(
                "insert into marts.fct_client_features by name select *, ? as is_month_end from feature_rows",
                [month_end],
            )
            # the client spine the marts build from: the same clients at the date, new that day
            con.execute("delete from intermediate.int_client_feature_dates")
            con.execute(
                "insert into intermediate.int_client_feature_dates by name"
                " select client_id, feature_date, industry, account_status, credit_limit, outstanding,"
                " tenure_months, 0 as tenure_days, feature_date as registration_date,"
                " feature_date as snapshot_export_date from feature_rows"
            )
        score_date(self.settings, self.as_of)
        with connect_warehouse(self.settings.warehouse) as con:
            con.execute(
                f"create or replace table marts.fct_rule_scores as {self.compiled['fct_rule_scores']}"
            )
            cursor = con.execute(self.compiled["fct_client_scores"])
            names = [c[0] for c in cursor.description]
            return {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


def _same(theirs, ours) -> bool:
    if isinstance(theirs, float) and isinstance(ours, float):
        return math.isclose(theirs, ours, rel_tol=0, abs_tol=1e-12)
    return theirs == ours


def _mart_answer(row: dict) -> dict:
    """A fct_client_scores row in the API's shape (ClientScore)."""
    return {
        **{c: row[c] for c in SCORE_COLUMNS},
        "reasons": [
            {
                "rank": k,
                "reason": row[f"reason_{k}"],
                "value": row[f"reason_{k}_value"],
                "points": row[f"reason_{k}_points"],
            }  # fmt: skip
            for k in (1, 2, 3)
            if row[f"reason_{k}"] is not None
        ],
    }


def _assert_parity(marts: Marts, scorer: ApplicantScorer, applications: list[Application]) -> list[dict]:
    answers = scorer.score_many(applications)
    rows = [
        applicant_features(a, scorer.no_history, scorer.parameters) | {"client_id": f"applicant-{k}"}
        for k, a in enumerate(applications)
    ]
    theirs = marts.score(scorer.features_table(rows))
    assert len(theirs) == len(applications)
    for k, answer in enumerate(answers):
        expected = _mart_answer(theirs[f"applicant-{k}"])
        mismatched = {c: (expected[c], answer[c]) for c in expected if not _same(expected[c], answer[c])}
        assert not mismatched, (applications[k], mismatched)
    return answers


@pytest.fixture(scope="module")
def marts(demo_cycle, tmp_path_factory: pytest.TempPathFactory) -> Marts:
    return Marts.of(demo_cycle.settings, tmp_path_factory.mktemp("parity"), demo_cycle.as_of)


@pytest.fixture(scope="module")
def scorer(demo_cycle) -> ApplicantScorer:
    scorer = ApplicantScorer(current_bundle(demo_cycle.settings.publish_path))
    assert scorer.model is not None, "the demo cycle published no champion: the blend would go untested"
    return scorer


def applications(as_of: date) -> st.SearchStrategy[Application]:
    money = st.floats(min_value=0, max_value=5e9, allow_nan=False, allow_infinity=False)
    report = st.builds(
        BureauReport,
        fecha_consulta=st.integers(0, 800).map(lambda days: as_of - timedelta(days=days)),
        estado_solicitud=st.sampled_from(["aprobado", "rechazado", None]),
        puntaje_credito=st.none() | st.floats(0, 1000, allow_nan=False),
        defaults_bureau=st.none() | st.integers(0, 6),
        deuda_total_externa=st.none() | money,
        creditos_activos=st.none() | st.integers(0, 12),
    )
    return st.builds(
        Application,
        application_date=st.just(as_of),
        requested_credit_limit=st.just(0.0) | money,
        # the demo's industries, one the model never saw, and none
        industry=st.sampled_from(["retail", "construction", "services", "agriculture", "mining", None]),
        bureau_report=st.none() | report,
    )


def test_generated_applicants_score_as_the_marts_score_their_feature_rows(demo_cycle, marts, scorer) -> None:
    """2,000 generated applicants, 80 per example: the scorer's answer equals, field by field, the row the
    pipeline's daily scoring and the marts' SQL give the same feature row."""
    seen: list[str] = []

    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(applications(demo_cycle.as_of), min_size=80, max_size=80))
    def check(batch: list[Application]) -> None:
        seen.extend(a["scored_by"] + a["score_band"] for a in _assert_parity(marts, scorer, batch))

    check()
    assert len(seen) >= 1000, f"only {len(seen)} applicants were generated"
    # the generated applicants reach more than one band and are scored by the model
    assert {s[:5] for s in seen} == {"model"} and len(set(seen)) > 1


def _edit_rule_weight(project: Path, component: str, factor: float) -> None:
    seed = project / "seeds" / "features" / "rule_score_components.csv"
    with seed.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["component"] == component:
            row["weight"] = str(float(row["weight"]) * factor)
    with seed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_a_rule_seed_edit_reaches_the_api_as_it_reaches_the_marts(demo_cycle, tmp_path: Path) -> None:
    """Triple the bureau score's weight in a copy of the project, run the daily cycle (build + publish) and
    nothing else: the served applicant answer changes, and equals what the marts now give its feature row."""
    work = tmp_path / "cycle"
    shutil.copytree(demo_cycle.settings.warehouse.parent, work, ignore=shutil.ignore_patterns("dbt"))
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(".venv", ".git", "target", "logs", "warehouse", "data", "*.egg-info"),
    )
    settings = Settings(
        warehouse=work / demo_cycle.settings.warehouse.name,
        landing=demo_cycle.landing,
        truth=demo_cycle.truth,
        dbt_project_dir=project,
    )
    application = {
        "applicant_reference": "seed-edit",
        "application_date": demo_cycle.as_of.isoformat(),
        "industry": "retail",
        "requested_credit_limit": 25_000_000,
        "bureau_report": {
            "fecha_consulta": demo_cycle.as_of.isoformat(),
            "estado_solicitud": "aprobado",
            "puntaje_credito": 520,
            "defaults_bureau": 1,
            "deuda_total_externa": 1_000_000,
            "creditos_activos": 1,
        },  # fmt: skip
    }
    server = start_server(tmp_path, settings.publish_path)
    try:
        with server.client() as api:
            before = api.post("/v1/applicants/score", json=application).json()
            bundle_before = current_bundle(settings.publish_path).name
            _edit_rule_weight(project, "bureau_score", 3)
            run_daily_cycle(settings, as_of=demo_cycle.as_of, console=Console(quiet=True))
            assert current_bundle(settings.publish_path).name != bundle_before
            for _ in range(100):  # the server polls CURRENT every 0.1 s
                after = api.post("/v1/applicants/score", json=application).json()
                if after != before:
                    break
                time.sleep(0.1)
    finally:
        stop_server(server)
    assert after["rule_score"] < before["rule_score"], (before, after)
    # the mart, built from the edited seed, gives the same answer for the same feature row
    scorer = ApplicantScorer(current_bundle(settings.publish_path))
    marts = Marts.of(settings, tmp_path / "marts", demo_cycle.as_of, project)
    expected = _assert_parity(marts, scorer, [_application(ApplicantRequest.model_validate(application))])[0]
    for field in SCORE_COLUMNS:
        assert _same(expected[field], after[field]), (field, expected[field], after[field])
