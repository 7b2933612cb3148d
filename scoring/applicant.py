"""Scoring a prospective client, who has no history at the lender, the way the daily pipeline scores one.

Nothing of the scoring marts is re-implemented here; everything comes from the published bundle:
1. the feature row `marts.fct_client_features` would hold (`applicant_features`): the bundle's no-history
   row (dbt's `int_no_history_features`, which the feature models fill missing history from) plus what the
   application carries (industry, requested limit, bureau report);
2. the bundle's champion, applied with the code the daily scoring runs (`scoring.model`: feature matrix,
   calibration, contributions, reasons);
3. the bundle's scoring query (dbt's `applicant_scoring_query`: the macros `rule_scores` and
   `client_scores` that build `fct_rule_scores` and `fct_client_scores`), run in-process with DuckDB over
   the row, the champion's output and the bundle's seeds. Weights, caps, the component -> feature map, the
   score scale, bands and policy are the seeds' values as dbt built them.
`api/tests/test_applicant_parity.py` holds this to the marts.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from bundle import Bundle, BundleError
from bundle.layout import NO_HISTORY_FEATURES_TABLE, SCORING_QUERY_TABLE
from scoring.features import NUMERIC, FeatureError
from scoring.model import ModelFileError, ScoringModel, load_model_files, score_frame

APPLICANT_ID = "applicant"
# An applicant becomes an active client; this is the status its first snapshot row would carry.
APPLICANT_ACCOUNT_STATUS = "active"
REASON_RANKS = (1, 2, 3)

# The relations the scoring query reads besides the seeds (models/marts/scoring/applicant_scoring_query.sql).
FEATURES_RELATION = "applicant_features"
MODEL_SCORES_SCHEMA = pa.schema(
    [
        ("client_id", pa.string()),
        ("feature_date", pa.date32()),
        ("model_probability", pa.float64()),
        ("model_version", pa.string()),
    ]
)
MODEL_REASONS_SCHEMA = pa.schema(
    [
        ("client_id", pa.string()),
        ("feature_date", pa.date32()),
        ("rank", pa.int64()),
        ("feature", pa.string()),
        ("feature_value", pa.string()),
        ("contribution", pa.float64()),
    ]
)
# Columns of the applicant's row that are not history (the no-history row has the history), with their types.
APPLICATION_COLUMNS = pa.schema(
    [
        ("client_id", pa.string()),
        ("feature_date", pa.date32()),
        ("industry", pa.string()),
        ("account_status", pa.string()),
        ("tenure_months", pa.int32()),
        ("segment", pa.string()),
        ("in_default_at_feature_date", pa.bool_()),
        ("credit_limit", pa.float64()),
        ("outstanding", pa.float64()),
        ("utilization_ratio_now", pa.float64()),
    ]
)


class ApplicantScoringUnavailable(Exception):
    """The applicant cannot be scored as the pipeline would (bundle parts or model unreadable): a 503."""


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
    """SQL round(), as the feature models round money and ratios: halves away from zero."""
    scale = 10.0**digits
    return math.copysign(math.floor(abs(value) * scale + 0.5) / scale, value)


def applicant_features(
    application: Application, no_history: dict[str, Any], parameters: dict[str, float]
) -> dict[str, Any]:
    """The row marts.fct_client_features would hold for the applicant on its application date: the
    bundle's no-history row (`no_history`), the client's own columns, and the bureau report as staging and
    int_client_bureau_features read one."""
    # fct_client_features: new while tenure (0) or the payment count is under the feature_parameters bar
    new = (
        0 < parameters["new_client_max_tenure_months"]
        or no_history["payment_count_total"] < parameters["new_client_min_payments"]
    )
    limit = _round_half_away(application.requested_credit_limit, 2)
    report = application.bureau_report
    features: dict[str, Any] = {
        **no_history,
        "client_id": APPLICANT_ID,
        "feature_date": application.application_date,
        "industry": application.industry,
        "account_status": APPLICANT_ACCOUNT_STATUS,
        "tenure_months": 0,
        "segment": "new" if new else "established",
        "in_default_at_feature_date": False,
        "credit_limit": limit,
        "outstanding": 0.0,
        "utilization_ratio_now": None if limit == 0 else 0.0,
    }
    if report is not None:
        features |= {
            "has_bureau_report": True,
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
    """Scores applicants with one bundle: its no-history row, scoring query, seeds and (when it has one)
    champion. One in-memory DuckDB connection holds the seeds; one applicant is scored at a time."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        try:
            defaults = bundle.read_table(NO_HISTORY_FEATURES_TABLE)
            steps = bundle.read_table(SCORING_QUERY_TABLE).sort_by("step").to_pylist()
            parameters = {
                r["parameter"]: float(r["value"]) for r in bundle.seed("feature_parameters").to_pylist()
            }
            seeds = {name: bundle.seed(name) for name in bundle.seed_names}
            components = bundle.seed("rule_score_components").to_pylist()
        except (BundleError, KeyError, TypeError, ValueError) as exc:
            raise ApplicantScoringUnavailable(f"bundle {bundle.name}: {exc}") from exc
        if defaults.num_rows != 1 or not steps or steps[-1]["creates_table"] is not None:
            raise ApplicantScoringUnavailable(
                f"bundle {bundle.name}: expected one no-history row and scoring steps ending in a select, got"
                f" {defaults.num_rows} row(s) and {len(steps)} step(s): publish again (`riskmart run`)"
            )
        # the components' features (the seed rule_score_components' column `feature`) are on the applicant's row
        row_columns = set(APPLICATION_COLUMNS.names) | set(defaults.schema.names)
        unknown = sorted({r["feature"] for r in components} - row_columns)
        if unknown:
            raise ApplicantScoringUnavailable(
                f"bundle {bundle.name}: the rule components read {unknown}, which an applicant's feature row"
                " does not have"
            )
        self.no_history_types = defaults.schema
        self.no_history = defaults.to_pylist()[0]
        self.parameters = parameters
        self.steps = steps
        self.model = load_bundle_model(bundle) if bundle.has_model else None
        self._lock = threading.Lock()
        self._con = duckdb.connect(":memory:", config={"threads": 1})
        for name, table in seeds.items():  # copied into tables: DuckDB plans them faster than Arrow scans
            self._copy_into(name, table)
        # Score one application now, so a bundle whose query or seeds do not fit is refused at load time.
        self.score(Application(application_date=date(2000, 1, 1), requested_credit_limit=1.0))

    def score(self, application: Application) -> dict[str, Any]:
        """The ClientScore shape for the applicant; a bundle without a model scores by the rules alone."""
        return self.score_many([application])[0]

    def score_many(self, applications: list[Application]) -> list[dict[str, Any]]:
        """`score` for several applicants at once: one model prediction and one run of the query."""
        rows = [
            applicant_features(application, self.no_history, self.parameters) | {"client_id": str(k)}
            for k, application in enumerate(applications)
        ]
        scored = self.score_rows(rows)
        return [self._answer(application, scored[str(k)]) for k, application in enumerate(applications)]

    def score_rows(self, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Rows of fct_client_scores (by client_id) for feature rows shaped as fct_client_features': the
        champion's output for them, then the scoring query. Applicants' rows come from `applicant_features`;
        the parity tests pass the mart's own rows too."""
        with self._lock:
            model_scores, model_reasons = self._model_output(rows, self.model)
            return self._run_query(rows, model_scores, model_reasons)

    def _answer(self, application: Application, row: dict[str, Any]) -> dict[str, Any]:
        for column, seed in (("probability_of_default", "ensemble_weights"), ("score_band", "score_bands"),
                             ("risk_level", "risk_policy")):  # fmt: skip
            if row[column] is None:
                raise ApplicantScoringUnavailable(
                    f"the seed {seed} of bundle {self.bundle.name} does not cover the applicant"
                    f" (segment {row['segment']!r}, score {row['score']}, probability"
                    f" {row['probability_of_default']})"
                )
        return {
            "client_id": application.applicant_reference or APPLICANT_ID,
            "score_date": application.application_date,
            "probability_of_default": row["probability_of_default"],
            "model_probability": row["model_probability"],
            "rule_probability": row["rule_probability"],
            "score": row["score"],
            "score_band": row["score_band"],
            "rule_score": row["rule_score"],
            "segment": row["segment"],
            "risk_level": row["risk_level"],
            "recommended_action": row["recommended_action"],
            "reasons": [
                {
                    "rank": k,
                    "reason": row[f"reason_{k}"],
                    "value": row[f"reason_{k}_value"],
                    "points": row[f"reason_{k}_points"],
                }
                for k in REASON_RANKS
                if row[f"reason_{k}"] is not None
            ],
            "model_version": row["model_version"],
            "scored_by": row["scored_by"],
        }

    def _model_output(
        self, rows: list[dict[str, Any]], model: ScoringModel | None
    ) -> tuple[pa.Table, pa.Table]:
        """The rows ml_scores and ml_score_reasons would hold for the applicants (none without a model)."""
        # as the daily scoring (ml.score): a client already in default is outside what the model learned
        rows = [row for row in rows if not row["in_default_at_feature_date"]]
        if model is None or not rows:
            return MODEL_SCORES_SCHEMA.empty_table(), MODEL_REASONS_SCHEMA.empty_table()
        try:
            scores, reasons = score_frame(
                model, _feature_frame(rows, model), datetime.now(UTC).replace(tzinfo=None)
            )
        except FeatureError as exc:
            raise ApplicantScoringUnavailable(
                f"the champion {model.version} needs features the applicant row lacks: {exc}"
            ) from exc
        day = {row["client_id"]: row["feature_date"] for row in rows}
        model_scores = pa.table(
            {
                "client_id": list(scores["client_id"]),
                "feature_date": [day[c] for c in scores["client_id"]],
                "model_probability": [float(p) for p in scores["model_probability"]],
                "model_version": [model.version] * len(scores),
            },
            schema=MODEL_SCORES_SCHEMA,
        )
        model_reasons = pa.table(
            {
                "client_id": list(reasons["client_id"]),
                "feature_date": [day[c] for c in reasons["client_id"]],
                "rank": [int(r) for r in reasons["rank"]],
                "feature": list(reasons["feature"]),
                "feature_value": [None if pd.isna(v) else str(v) for v in reasons["feature_value"]],
                "contribution": [float(c) for c in reasons["contribution"]],
            },
            schema=MODEL_REASONS_SCHEMA,
        )
        return model_scores, model_reasons

    def _run_query(
        self, rows: list[dict[str, Any]], model_scores: pa.Table, model_reasons: pa.Table
    ) -> dict[str, dict[str, Any]]:
        """The bundle's scoring steps over the applicants: per client_id, the columns of fct_client_scores."""
        con = self._con
        self._copy_into(FEATURES_RELATION, self.features_table(rows))
        self._copy_into("model_scores", model_scores)
        self._copy_into("model_reasons", model_reasons)
        try:
            for step in self.steps[:-1]:
                con.execute(f'create or replace temp table "{step["creates_table"]}" as {step["query"]}')
            cursor = con.execute(self.steps[-1]["query"])
            names = [c[0] for c in cursor.description]
            scored = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        except duckdb.Error as exc:
            raise ApplicantScoringUnavailable(
                f"the scoring query of bundle {self.bundle.name} failed on the applicant: {exc}"
            ) from exc
        by_client = {row["client_id"]: row for row in scored}
        if len(scored) != len(rows) or len(by_client) != len(rows):
            raise ApplicantScoringUnavailable(
                f"the scoring query of bundle {self.bundle.name} gave {len(scored)} rows for {len(rows)}"
                " applicant(s)"
            )
        return by_client

    def _copy_into(self, name: str, table: pa.Table) -> None:
        """`table` as the temporary table `name` of the scorer's connection (replacing it)."""
        self._con.register("arrow_input", table)
        try:
            # names are ours: the seeds' names in the bundle's manifest and the query's relations
            self._con.execute(f'create or replace temp table "{name}" as select * from arrow_input')  # noqa: S608
        finally:
            self._con.unregister("arrow_input")

    def features_table(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Feature rows typed as the feature mart types them (the history columns as the no-history row)."""
        fields = [
            *APPLICATION_COLUMNS,
            *(f for f in self.no_history_types if f.name not in APPLICATION_COLUMNS.names),
        ]
        schema = pa.schema(fields)
        return pa.table({f.name: [row[f.name] for row in rows] for f in schema}, schema=schema)


def _feature_frame(rows: list[dict[str, Any]], model: ScoringModel) -> pd.DataFrame:
    """The rows typed as the model expects (numeric: float64 with NaN for NULL; categorical: text)."""
    columns: dict[str, pd.Series] = {
        "client_id": pd.Series([row["client_id"] for row in rows], dtype=object),
        "feature_date": pd.Series([pd.Timestamp(row["feature_date"]) for row in rows]),
    }
    for feature in model.features.features:
        if feature.name not in rows[0]:
            continue  # build_matrix names what is missing
        values = [row[feature.name] for row in rows]
        if feature.kind == NUMERIC:
            columns[feature.name] = pd.Series(
                [math.nan if v is None else float(v) for v in values], dtype="float64"
            )
        else:
            columns[feature.name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)
