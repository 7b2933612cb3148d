"""POST /v1/applicants/score: held to the pipeline on real new clients, and its errors."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from api.routes.applicants import _application
from api.schemas import ApplicantRequest
from api.tests.conftest import start_server, stop_server
from api.tests.snapshots import model_card
from bundle import MANIFEST_FILE, BundleError, current_bundle, open_bundle
from scoring.applicant import (
    NO_HISTORY_FEATURES,
    ApplicantScorer,
    ApplicantScoringUnavailable,
    ScoringSeeds,
    applicant_features,
)

APPLICATION = {
    "applicant_reference": "solicitud-2025-0042",
    "application_date": "2025-06-30",
    "industry": "retail",
    "requested_credit_limit": 25_000_000,
    "bureau_report": {
        "fecha_consulta": "2025-06-20",
        "estado_solicitud": "aprobado",
        "motivo_rechazo": None,
        "puntaje_credito": 640,
        "defaults_bureau": None,
        "deuda_total_externa": 12_000_000,
        "creditos_activos": 2,
    },
}
# Columns of marts.fct_client_features that are keys or bookkeeping, not the client's features.
KEY_COLUMNS = {"client_id", "feature_date", "is_month_end"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"requested_credit_limit": -1}, "requested_credit_limit"),
        ({"application_date": "30/06/2025"}, "application_date"),
        ({"tax_id": "900123456"}, "tax_id"),  # PII is refused, never stored or echoed
        ({"bureau_report": {**APPLICATION["bureau_report"], "fecha_consulta": "2025-07-01"}}, None),
        (
            {"bureau_report": {**APPLICATION["bureau_report"], "estado_solicitud": "maybe"}},
            "estado_solicitud",
        ),
        ({"bureau_report": {**APPLICATION["bureau_report"], "puntaje_credito": 1200}}, "puntaje_credito"),
    ],
)
def test_malformed_applications_are_422(api, change: dict, field: str | None) -> None:
    response = api.post("/v1/applicants/score", json={**APPLICATION, **change})
    assert response.status_code == 422, response.text
    if field is not None:
        assert any(field in d["loc"] for d in response.json()["error"]["details"])
    nan = api.post(
        "/v1/applicants/score",
        content=b'{"application_date": "2025-06-30", "requested_credit_limit": NaN}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422


def test_the_champion_scores_an_applicant(api, server) -> None:
    response = api.post("/v1/applicants/score", json=APPLICATION)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["client_id"] == APPLICATION["applicant_reference"] and got["score_date"] == "2025-06-30"
    assert got["scored_by"] == "model" and got["model_version"] == model_card()["model_version"]
    assert got["segment"] == "new"
    # new clients blend model and rules with the ensemble_weights seed (0.3 / 0.7)
    blended = 0.3 * got["model_probability"] + 0.7 * got["rule_probability"]
    assert abs(got["probability_of_default"] - blended) < 1e-12
    assert all(r["points"] > 0 and r["value"] is not None for r in got["reasons"])
    # A weaker bureau report never lowers the probability (the model is monotone in the bureau score).
    weaker = {**APPLICATION, "bureau_report": {**APPLICATION["bureau_report"], "puntaje_credito": 350}}
    assert (
        api.post("/v1/applicants/score", json=weaker).json()["probability_of_default"]
        >= got["probability_of_default"]
    )


def test_an_unloadable_champion_is_refused_not_guessed(tmp_path: Path, published: Path) -> None:
    copy = tmp_path / published.name
    shutil.copytree(published, copy)
    (copy / "model" / "model.json").write_text("{}")
    with pytest.raises(BundleError, match="model/model.json has 2 bytes, the manifest says"):
        open_bundle(copy)
    # even a bundle read without its checks never scores with a model it cannot load
    with pytest.raises(ApplicantScoringUnavailable, match="cannot be loaded"):
        ApplicantScorer(open_bundle(copy, verify=False))
    assert (copy / MANIFEST_FILE).is_file()


def _application_of(body: dict):
    return _application(ApplicantRequest.model_validate(body))


def test_without_a_model_the_rules_score_the_applicant(published: Path) -> None:
    seeds = ScoringSeeds.load(open_bundle(published))
    application = _application_of(APPLICATION)
    features = applicant_features(application, seeds.parameters)
    assert features["bureau_report_age_days"] == 10 and features["bureau_defaults"] == 0
    assert features["utilization_ratio_now"] == 0.0 and features["segment"] == "new"
    rule_score, probability, points = seeds.rule_score(features)
    assert 0 <= rule_score <= 1000 and 0 < probability < 1
    assert math.isclose(1000 - sum(points.values()), rule_score, abs_tol=0.5)
    # A worse bureau report never scores better.
    worse = _application_of(
        {
            **APPLICATION,
            "bureau_report": {**APPLICATION["bureau_report"], "puntaje_credito": 300, "defaults_bureau": 2},
        }
    )
    assert seeds.rule_score(applicant_features(worse, seeds.parameters))[0] < rule_score


# --- the test that keeps it honest: real new clients of a real pipeline run ---------------------------


SCORE_COLUMNS = (
    "probability_of_default", "model_probability", "rule_probability", "score", "score_band", "rule_score",
    "segment", "risk_level", "recommended_action", "model_version", "scored_by",
    *(f"reason_{k}{part}" for k in (1, 2, 3) for part in ("", "_value", "_points")),
)  # fmt: skip
REPORT_FIELDS = (
    "fecha_consulta", "estado_solicitud", "motivo_rechazo", "puntaje_credito", "defaults_bureau",
    "deuda_total_externa", "creditos_activos",
)  # fmt: skip


def _no_history_clients(warehouse: Path, as_of: date) -> list[tuple[dict, dict, dict | None]]:
    """(feature row, score row, latest bureau report) of every client whose features at `as_of` are those
    of a new client with no history."""
    conditions, params = [], [as_of]
    for name, value in NO_HISTORY_FEATURES.items():
        conditions.append(f"{name} is null" if value is None else f"{name} = ?")
        params += [] if value is None else [value]
    with duckdb.connect(str(warehouse), read_only=True) as con:

        def records(sql: str, args: list) -> list[dict]:
            cursor = con.execute(sql, args)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

        features = records(
            "select * from marts.fct_client_features where feature_date = ? and tenure_months = 0"
            " and outstanding = 0 and account_status = 'active' and " + " and ".join(conditions),
            params,
        )
        found = []
        for row in features:
            score = records(
                f"select {', '.join(SCORE_COLUMNS)} from marts.fct_client_scores"
                " where client_id = ? and score_date = ?",
                [row["client_id"], as_of],
            )[0]
            report = records(
                f"select {', '.join(REPORT_FIELDS)} from raw.hcpn_reports where client_id = ?"
                " and fecha_consulta <= ? order by fecha_consulta desc, _loaded_at desc limit 1",
                [row["client_id"], as_of],
            )
            found.append((row, score, report[0] if report else None))
    return found


@pytest.mark.slow
def test_applicant_scores_equal_the_marts_for_new_clients_without_history(demo_cycle, tmp_path: Path) -> None:
    settings, as_of = demo_cycle.settings, demo_cycle.as_of
    clients = _no_history_clients(settings.warehouse, as_of)
    assert clients, f"the demo export has no new client without history on {as_of}: nothing to compare"
    seeds = ScoringSeeds.load(current_bundle(settings.publish_path))
    server = start_server(tmp_path, settings.publish_path)
    try:
        with server.client() as api:
            for row, mart, report in clients:
                body = {
                    "applicant_reference": row["client_id"],
                    "application_date": as_of.isoformat(),
                    "industry": row["industry"],
                    "requested_credit_limit": row["credit_limit"],
                    "bureau_report": None
                    if report is None
                    else {k: (v.isoformat() if isinstance(v, date) else v) for k, v in report.items()},
                }
                # The feature row the service builds is the mart's, column by column.
                built = applicant_features(_application_of(body), seeds.parameters)
                assert set(row) - KEY_COLUMNS <= set(built), "the mart has features the applicant row lacks"
                for column in set(row) - KEY_COLUMNS:
                    theirs, ours = row[column], built[column]
                    if isinstance(theirs, float) or isinstance(ours, float):
                        assert (theirs is None) == (ours is None), column
                        assert theirs is None or math.isclose(theirs, ours, abs_tol=1e-9), column
                    else:
                        assert theirs == ours, (row["client_id"], column, theirs, ours)

                response = api.post("/v1/applicants/score", json=body)
                assert response.status_code == 200, response.text
                got = response.json()
                assert abs(got["probability_of_default"] - mart["probability_of_default"]) <= 1e-6
                if mart["model_probability"] is None:
                    assert got["model_probability"] is None
                else:
                    assert abs(got["model_probability"] - mart["model_probability"]) <= 1e-6
                assert abs(got["rule_probability"] - mart["rule_probability"]) <= 1e-6
                for name in ("score", "score_band", "rule_score", "segment", "risk_level", "recommended_action",
                             "model_version", "scored_by"):  # fmt: skip
                    assert got[name] == mart[name], (row["client_id"], name, got[name], mart[name])
                mart_reasons = [
                    {
                        "rank": k,
                        "reason": mart[f"reason_{k}"],
                        "value": mart[f"reason_{k}_value"],
                        "points": mart[f"reason_{k}_points"],
                    }  # fmt: skip
                    for k in (1, 2, 3)
                    if mart[f"reason_{k}"] is not None
                ]
                assert got["reasons"] == mart_reasons
                assert got["client_id"] == row["client_id"] and got["score_date"] == as_of.isoformat()
    finally:
        stop_server(server)
    audit = server.audit_log.read_text()
    assert audit.count('"action":"applicant_score"') == len(clients)
