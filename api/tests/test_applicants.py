"""POST /v1/applicants/score: held to the pipeline on real new clients, and its errors."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.routes.applicants import _application
from api.schemas import ApplicantRequest
from api.tests.snapshots import build_published_snapshot, model_card, synthetic_scores
from bundle import MANIFEST_FILE, BundleError, current_bundle, open_bundle
from scoring.applicant import ApplicantScorer, ApplicantScoringUnavailable, applicant_features

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


def test_the_champion_scores_an_applicant(api, server, published: Path) -> None:
    response = api.post("/v1/applicants/score", json=APPLICATION)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["client_id"] == APPLICATION["applicant_reference"] and got["score_date"] == "2025-06-30"
    assert got["scored_by"] == "model" and got["model_version"] == model_card()["model_version"]
    assert got["segment"] == "new"
    # new clients blend model and rules with the ensemble_weights seed (0.3 / 0.7)
    blended = 0.3 * got["model_probability"] + 0.7 * got["rule_probability"]
    assert abs(got["probability_of_default"] - blended) < 1e-12
    # model reasons: features in the feature_reasons seed's words, with the applicant's value (None for a
    # feature the applicant has no history for: XGBoost's missing branch carries a contribution too)
    words = {r["reason"] for r in open_bundle(published).seed("feature_reasons").to_pylist()}
    assert got["reasons"] and all(r["points"] > 0 and r["reason"] in words for r in got["reasons"])
    assert any(r["value"] is not None for r in got["reasons"])
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


def test_a_rule_component_on_a_feature_the_applicant_lacks_is_refused(
    tmp_path: Path, published: Path
) -> None:
    copy = tmp_path / published.name
    shutil.copytree(published, copy)
    seed = copy / "seeds" / "rule_score_components.parquet"
    table = pq.read_table(seed)
    features = [("no_such_feature" if f == "bureau_score" else f) for f in table["feature"].to_pylist()]
    pq.write_table(
        table.set_column(table.schema.get_field_index("feature"), "feature", pa.array(features)), seed
    )
    with pytest.raises(ApplicantScoringUnavailable, match=r"the rule components read \['no_such_feature'\]"):
        ApplicantScorer(open_bundle(copy, verify=False))


def _application_of(body: dict):
    return _application(ApplicantRequest.model_validate(body))


def test_without_a_model_the_rules_score_the_applicant(tmp_path: Path) -> None:
    bundle = open_bundle(build_published_snapshot(tmp_path / "published", synthetic_scores(3, 2), None).path)
    scorer = ApplicantScorer(bundle)
    application = _application_of(APPLICATION)
    features = applicant_features(application, scorer.no_history, scorer.parameters)
    assert features["bureau_report_age_days"] == 10 and features["bureau_defaults"] == 0
    assert features["utilization_ratio_now"] == 0.0 and features["segment"] == "new"
    got = scorer.score(application)
    assert got["scored_by"] == "rules" and got["model_probability"] is None and got["model_version"] is None
    assert got["probability_of_default"] == got["rule_probability"] and 0 < got["rule_probability"] < 1
    assert 0 <= got["rule_score"] <= 1000
    # the reasons are the rule components that take the most points, in the seed's words
    assert got["reasons"] and all(r["value"] is None and r["points"] > 0 for r in got["reasons"])
    # A worse bureau report never scores better.
    worse = _application_of(
        {
            **APPLICATION,
            "bureau_report": {**APPLICATION["bureau_report"], "puntaje_credito": 300, "defaults_bureau": 2},
        }
    )
    assert scorer.score(worse)["rule_score"] < got["rule_score"]


# --- the test that keeps it honest: every client of a real pipeline run ---------------------------------


SCORE_COLUMNS = (
    "client_id", "score_date", "probability_of_default", "model_probability", "rule_probability", "score",
    "score_band", "rule_score", "segment", "risk_level", "recommended_action", "model_version", "scored_by",
    *(f"reason_{k}{part}" for k in (1, 2, 3) for part in ("", "_value", "_points")),
)  # fmt: skip


def _records(warehouse: Path, sql: str, args: list) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, args)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


@pytest.mark.slow
def test_the_applicant_scorer_gives_the_marts_scores_for_every_client_of_a_real_cycle(demo_cycle) -> None:
    """The scorer the API runs (the published champion, then the published scoring query) on the mart's own
    feature rows gives marts.fct_client_scores, column by column, for every client of the day: new and
    established, scored by the model and in default."""
    settings, as_of = demo_cycle.settings, demo_cycle.as_of
    scorer = ApplicantScorer(current_bundle(settings.publish_path))
    rows = _records(
        settings.warehouse, "select * from marts.fct_client_features where feature_date = ?", [as_of]
    )
    marts = {
        r["client_id"]: r
        for r in _records(
            settings.warehouse,
            f"select {', '.join(SCORE_COLUMNS)} from marts.fct_client_scores where score_date = ?",
            [as_of],
        )
    }
    assert len(rows) == len(marts) > 100
    assert {m["scored_by"] for m in marts.values()} >= {"model", "in_default"}
    assert {m["segment"] for m in marts.values()} == {"new", "established"}
    ours = scorer.score_rows(rows)
    for client_id, mart in marts.items():
        got = ours[client_id]
        for column in SCORE_COLUMNS:
            theirs, mine = mart[column], got[column]
            if isinstance(theirs, float) and isinstance(mine, float):
                assert math.isclose(theirs, mine, rel_tol=0, abs_tol=1e-12), (client_id, column, theirs, mine)
            else:
                assert theirs == mine, (client_id, column, theirs, mine)


def test_the_no_history_row_is_the_one_dbt_built(published: Path) -> None:
    """Applicant scoring takes the no-history values from the bundle, as dbt built them (int_no_history_features):
    0 for counts and amounts, NULL where there is nothing to average, utilization included."""
    scorer = ApplicantScorer(open_bundle(published))
    row = scorer.no_history
    assert (
        row["payment_count_total"] == 0 and row["oldest_overdue_days"] == 0 and row["overdue_amount"] == 0.0
    )
    assert row["recency_weighted_payment_score_90d"] is None and row["days_since_last_order"] is None
    assert row["utilization_ratio_avg_3m"] is None and row["months_near_limit_6m"] == 0
    assert row["has_bureau_report"] is False and row["bureau_score"] is None
    features = applicant_features(
        _application_of({**APPLICATION, "bureau_report": None}), row, scorer.parameters
    )
    assert {k: features[k] for k in row} == row
