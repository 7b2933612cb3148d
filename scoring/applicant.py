"""Scoring a prospective client, who has no history at the lender, the way the daily pipeline scores one.

The steps mirror the pipeline for a client with no payments, orders, invoices, plans, utilization months
or limit changes at its feature date (the application date):
1. the feature row `marts.fct_client_features` would hold (`applicant_features`): what the application
   carries (industry, requested limit, bureau report), and for every history feature the value the
   feature models give when there is no history (0 for counts and amounts, NULL for ratios and recency);
2. the bundle's champion, applied with the code the daily scoring runs (`scoring.model`: feature matrix,
   calibration, contributions, reasons);
3. `marts.fct_rule_scores` and `marts.fct_client_scores` (rule score, blend, score scale, band, risk
   policy, reasons in words) computed from the seeds as the bundle carries them (as dbt built them).
`api/tests/test_applicants.py` holds this to the pipeline: for real new clients without history, the
feature row and the probability equal the marts' (within 1e-6).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from bundle import Bundle, BundleError
from scoring.features import NUMERIC, FeatureError
from scoring.model import ModelFileError, ScoringModel, load_model_files

APPLICANT_ID = "applicant"
# An applicant becomes an active client; this is the status its first snapshot row would carry.
APPLICANT_ACCOUNT_STATUS = "active"

# Each rule component and the feature it reads: the list in models/marts/fct_rule_scores.sql (weights and
# thresholds are the seed rule_score_components, read below), in the order the SQL sums them.
RULE_COMPONENT_FEATURES = (
    ("payment_timeliness", "recency_weighted_payment_score_90d"),
    ("overdue_invoices", "oldest_overdue_days"),
    ("payment_stability", "stddev_days_past_due_6m"),
    ("deterioration", "days_past_due_velocity"),
    ("utilization", "utilization_ratio_avg_3m"),
    ("active_payment_plans", "active_payment_plans"),
    ("defaulted_payment_plans", "defaulted_payment_plans"),
    ("bureau_score", "bureau_score"),
    ("bureau_defaults", "bureau_defaults"),
)

# History features of a client without payments, orders, invoices, plans or limit changes, as the
# intermediate feature models produce them (0 for counts and amounts; NULL where there is nothing to
# average, date or divide).
NO_HISTORY_FEATURES: dict[str, int | float | None] = {
    # int_client_payment_features
    "recency_weighted_payment_score_30d": None,
    "recency_weighted_payment_score_90d": None,
    "recency_weighted_payment_score_180d": None,
    "payment_count_total": 0,
    "payment_count_30d": 0,
    "payment_count_90d": 0,
    "payment_count_180d": 0,
    "payment_amount_30d": 0.0,
    "payment_amount_90d": 0.0,
    "payment_amount_180d": 0.0,
    "mean_days_past_due_6m": None,
    "max_days_past_due_6m": None,
    "stddev_days_past_due_6m": None,
    "share_paid_late_6m": None,
    "share_paid_30_plus_late_6m": None,
    "days_past_due_velocity": None,
    "days_since_last_payment": None,
    # int_client_invoice_features
    "open_invoice_count": 0,
    "open_invoice_amount": 0.0,
    "overdue_invoice_count": 0,
    "overdue_amount": 0.0,
    "overdue_amount_1_30_days": 0.0,
    "overdue_amount_31_59_days": 0.0,
    "overdue_amount_60_plus_days": 0.0,
    "invoices_60_plus_days_past_due": 0,
    "oldest_overdue_days": 0,
    # int_client_order_features
    "order_count_30d": 0,
    "order_count_90d": 0,
    "order_value_30d": 0.0,
    "order_value_90d": 0.0,
    "order_value_trend": None,
    "cancelled_order_share_180d": None,
    "returned_order_share_180d": None,
    "days_since_last_order": None,
    # int_client_credit_features (beyond the limit and the outstanding balance). The lender's export
    # carries a utilization row for the current month from the day a client is registered: 0 % when unused.
    "utilization_ratio_avg_3m": 0.0,
    "utilization_ratio_max_3m": 0.0,
    "utilization_ratio_avg_6m": 0.0,
    "utilization_ratio_max_6m": 0.0,
    "months_near_limit_6m": 0,
    "months_over_limit_6m": 0,
    "credit_limit_changes_6m": 0,
    "credit_limit_net_change_6m": 0.0,
    # int_client_plan_features
    "payment_plan_count": 0,
    "active_payment_plans": 0,
    "completed_payment_plans": 0,
    "defaulted_payment_plans": 0,
    "months_since_last_plan": None,
}


class ApplicantScoringUnavailable(Exception):
    """The applicant cannot be scored as the pipeline would (seeds or model unreadable): a 503."""


@dataclass(frozen=True)
class BureauReport:
    """The applicant's latest bureau report, as the lender's export carries one (hcpn_<client>.json)."""

    fecha_consulta: date
    estado_solicitud: str | None = None
    puntaje_credito: float | None = None
    defaults_bureau: int | None = None
    deuda_total_externa: float | None = None
    creditos_activos: int | None = None


@dataclass(frozen=True)
class Application:
    """What the lender knows of a prospective client at application time."""

    application_date: date
    requested_credit_limit: float
    industry: str | None = None
    bureau_report: BureauReport | None = None
    applicant_reference: str | None = None


def _round_half_away(value: float, digits: int = 0) -> float:
    """SQL round(): halves away from zero (Python's round() goes to even)."""
    scale = 10.0**digits
    return math.copysign(math.floor(abs(value) * scale + 0.5) / scale, value)


def applicant_features(application: Application, parameters: dict[str, float]) -> dict[str, Any]:
    """The row marts.fct_client_features would hold for the applicant on its application date."""
    # fct_client_features: new while tenure or the payment count is under the feature_parameters seed's bar
    new = 0 < parameters["new_client_max_tenure_months"] or 0 < parameters["new_client_min_payments"]
    limit = _round_half_away(application.requested_credit_limit, 2)
    report = application.bureau_report
    features: dict[str, Any] = {
        "client_id": APPLICANT_ID,
        "feature_date": application.application_date,
        "industry": application.industry,
        "account_status": APPLICANT_ACCOUNT_STATUS,
        "tenure_months": 0,
        "segment": "new" if new else "established",
        "in_default_at_feature_date": False,
        **NO_HISTORY_FEATURES,
        "credit_limit": limit,
        "outstanding": 0.0,
        "utilization_ratio_now": None if limit == 0 else 0.0,
        "has_bureau_report": report is not None,
        "bureau_score": None,
        "bureau_defaults": None,
        "external_debt": None,
        "active_credits": None,
        "bureau_rejected": None,
        "bureau_report_age_days": None,
    }
    if report is not None:
        features |= {
            "bureau_score": None
            if report.puntaje_credito is None
            else _round_half_away(report.puntaje_credito, 6),
            "bureau_defaults": report.defaults_bureau or 0,
            "external_debt": None
            if report.deuda_total_externa is None
            else _round_half_away(report.deuda_total_externa, 2),
            "active_credits": report.creditos_activos,
            "bureau_rejected": report.estado_solicitud == "rechazado",
            "bureau_report_age_days": (application.application_date - report.fecha_consulta).days,
        }
    return features


@dataclass(frozen=True)
class ScoringSeeds:
    """The seeds the scoring marts read, from the dbt project's seeds folder."""

    scale: dict[str, float]
    bands: list[dict[str, Any]]
    policy: list[dict[str, Any]]
    weights: dict[str, tuple[float, float]]
    feature_reasons: dict[str, str]
    rule_components: dict[str, dict[str, Any]]
    parameters: dict[str, float]

    @classmethod
    def load(cls, bundle: Bundle) -> ScoringSeeds:
        def rows(name: str) -> list[dict[str, Any]]:
            try:
                return bundle.seed(name).to_pylist()
            except BundleError as exc:
                raise ApplicantScoringUnavailable(str(exc)) from exc

        def number(value: Any) -> float | None:
            return None if value is None or (isinstance(value, str) and value.strip() == "") else float(value)

        try:
            scale = {k: float(v) for k, v in rows("score_scale")[0].items()}
            bands = [
                {"band": r["score_band"], "min": number(r["min_score"]), "max": number(r["max_score"])}
                for r in rows("score_bands")
            ]
            policy = sorted(
                (
                    {
                        "priority": int(r["priority"]),
                        "risk_level": r["risk_level"],
                        "action": r["recommended_action"],
                        "min_p": number(r["min_probability"]),
                        "max_p": number(r["max_probability"]),
                        "min_u": number(r.get("min_utilization_ratio")),
                        "max_u": number(r.get("max_utilization_ratio")),
                    }
                    for r in rows("risk_policy")
                ),
                key=lambda r: r["priority"],
            )
            weights = {
                r["segment"]: (float(r["model_weight"]), float(r["rule_weight"]))
                for r in rows("ensemble_weights")
            }
            reasons = {r["feature"]: r["reason"] for r in rows("feature_reasons")}
            components = {
                r["component"]: {
                    "weight": float(r["weight"]),
                    "safe": float(r["safe_value"]),
                    "risky": float(r["risky_value"]),
                    "missing": float(r["risk_if_missing"]),
                    "description": r["description"],
                }
                for r in rows("rule_score_components")
            }
            parameters = {r["parameter"]: float(r["value"]) for r in rows("feature_parameters")}
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise ApplicantScoringUnavailable(
                f"a scoring seed of bundle {bundle.name} is malformed: {exc}"
            ) from exc
        absent = [c for c, _ in RULE_COMPONENT_FEATURES if c not in components]
        if absent:
            raise ApplicantScoringUnavailable(f"rule_score_components lacks {absent}")
        return cls(scale, bands, policy, weights, reasons, components, parameters)

    @property
    def points_per_log_odds(self) -> float:
        return self.scale["points_to_double_odds"] / math.log(2)

    def rule_score(self, features: dict[str, Any]) -> tuple[int, float, dict[str, float]]:
        """fct_rule_scores: (rule score 0-1000, its probability, points each component takes off)."""
        total_weight = 0.0
        for component, _ in RULE_COMPONENT_FEATURES:
            total_weight += self.rule_components[component]["weight"]
        points = {}
        for component, feature in RULE_COMPONENT_FEATURES:
            c = self.rule_components[component]
            value = features[feature]
            risk = (
                c["missing"]
                if value is None
                else min(1.0, max(0.0, (value - c["safe"]) / (c["risky"] - c["safe"])))
            )
            points[component] = 1000.0 * c["weight"] * risk / total_weight
        taken = 0.0
        for component, _ in RULE_COMPONENT_FEATURES:
            taken += points[component]
        score = int(_round_half_away(1000.0 - taken))
        intercept = self.parameters["rule_probability_intercept"]
        slope = self.parameters["rule_probability_slope"]
        return score, 1.0 / (1.0 + math.exp(-(intercept + slope * score / 1000.0))), points

    def score(self, probability: float) -> int:
        """The points-to-double-odds scale (macros/scoring/score_scaling.sql)."""
        s = self.scale
        factor = self.points_per_log_odds
        offset = s["base_score"] - factor * math.log(s["base_good_bad_odds"])
        q = min(max(probability, 1e-9), 1 - 1e-9)
        return int(
            _round_half_away(
                min(s["max_score"], max(s["min_score"], offset + factor * math.log((1 - q) / q)))
            )
        )

    def band(self, score: int) -> str:
        for band in self.bands:
            if band["min"] <= score <= band["max"]:
                return band["band"]
        raise ApplicantScoringUnavailable(f"score_bands has no band for score {score}")

    def decision(self, probability: float, utilization: float | None) -> tuple[str, str]:
        """The first risk_policy row (by priority) holding the probability and the utilization."""
        u = 0.0 if utilization is None else utilization
        for row in self.policy:
            if (
                probability >= row["min_p"]
                and (probability < row["max_p"] or row["max_p"] >= 1)
                and (row["min_u"] is None or u >= row["min_u"])
                and (row["max_u"] is None or u < row["max_u"])
            ):
                return row["risk_level"], row["action"]
        raise ApplicantScoringUnavailable(f"risk_policy has no row for probability {probability}")


def load_bundle_model(bundle: Bundle, threads: int = 1) -> ScoringModel:
    """The champion a bundle carries, checked (its files against each other, the bundle's checksums)."""
    version = bundle.model_version
    try:
        return load_model_files(
            version,
            bundle.model_file("model.json").read_bytes(),
            bundle.model_json("features.json"),
            bundle.model_json("calibrator.json"),
            threads=threads,
        )
    except (BundleError, ModelFileError, OSError) as exc:
        raise ApplicantScoringUnavailable(f"the champion {version} cannot be loaded: {exc}") from exc


class ApplicantScorer:
    """Scores applicants with one bundle: its seeds and, when it has one, its champion."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.seeds = ScoringSeeds.load(bundle)
        self.model = load_bundle_model(bundle) if bundle.has_model else None
        self._lock = threading.Lock()  # one XGBoost prediction at a time; applicants are not the hot path

    def score(self, application: Application) -> dict[str, Any]:
        """The ClientScore shape for the applicant; a bundle without a model scores by the rules alone."""
        from scoring.model import score_frame

        seeds = self.seeds
        features = applicant_features(application, seeds.parameters)
        rule_score, rule_probability, rule_points = seeds.rule_score(features)
        model_probability, reasons = None, []
        model = self.model
        model_version = None if model is None else model.version
        if model is not None:
            with self._lock:
                frame = _feature_frame(features, model)
                try:
                    scores, reason_rows = score_frame(model, frame, datetime.now(UTC).replace(tzinfo=None))
                except FeatureError as exc:
                    raise ApplicantScoringUnavailable(
                        f"the champion {model_version} needs features the applicant row lacks: {exc}"
                    ) from exc
            model_probability = float(scores["model_probability"].iloc[0])
            for row in reason_rows.sort_values("rank").itertuples():
                reasons.append(
                    {
                        "rank": int(row.rank),
                        "reason": seeds.feature_reasons.get(row.feature, row.feature),
                        # a missing feature value can carry a contribution too (XGBoost's default branch)
                        "value": None if pd.isna(row.feature_value) else str(row.feature_value),
                        "points": int(_round_half_away(row.contribution * seeds.points_per_log_odds)),
                    }
                )
        else:
            ranked = sorted(((-p, c) for c, p in rule_points.items() if p > 0))[:3]
            reasons = [
                {
                    "rank": k,
                    "reason": seeds.rule_components[c]["description"],
                    "value": None,
                    "points": int(_round_half_away(-neg)),
                }
                for k, (neg, c) in enumerate(ranked, start=1)
            ]
        segment = features["segment"]
        if model_probability is None:
            probability = rule_probability
        else:
            if segment not in seeds.weights:
                raise ApplicantScoringUnavailable(f"ensemble_weights has no row for segment {segment!r}")
            model_weight, rule_weight = seeds.weights[segment]
            probability = model_weight * model_probability + rule_weight * rule_probability
        score = seeds.score(probability)
        risk_level, action = seeds.decision(probability, features["utilization_ratio_now"])
        return {
            "client_id": application.applicant_reference or APPLICANT_ID,
            "score_date": application.application_date,
            "probability_of_default": probability,
            "model_probability": model_probability,
            "rule_probability": rule_probability,
            "score": score,
            "score_band": seeds.band(score),
            "rule_score": rule_score,
            "segment": segment,
            "risk_level": risk_level,
            "recommended_action": action,
            "reasons": reasons,
            "model_version": model_version if model_probability is not None else None,
            "scored_by": "model" if model_probability is not None else "rules",
        }


def _feature_frame(features: dict[str, Any], model: ScoringModel) -> pd.DataFrame:
    """One row typed as the model expects (numeric: float64 with NaN for NULL; categorical: text)."""

    columns: dict[str, pd.Series] = {
        "client_id": pd.Series([features["client_id"]], dtype=object),
        "feature_date": pd.Series([pd.Timestamp(features["feature_date"])]),
    }
    for feature in model.features.features:
        value = features.get(feature.name, _MISSING)
        if value is _MISSING:
            continue  # build_matrix names what is missing
        if feature.kind == NUMERIC:
            columns[feature.name] = pd.Series([math.nan if value is None else float(value)], dtype="float64")
        else:
            columns[feature.name] = pd.Series([value], dtype=object)
    return pd.DataFrame(columns)


_MISSING = object()
