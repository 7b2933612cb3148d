"""The API's JSON: pydantic models for requests, responses and errors (they are the OpenAPI schema)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

MAX_LOOKUP_IDS = 1000
MAX_PAGE_SIZE = 1000

# Opaque ids: any printable text (accents, dashes, underscores, spaces); no control characters, no "/"
# because the id travels in a URL path segment.
CLIENT_ID_PATTERN = r"^[^\x00-\x1f\x7f/]+$"
CLIENT_ID_MAX_LENGTH = 128
ClientId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CLIENT_ID_MAX_LENGTH, pattern=CLIENT_ID_PATTERN),
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: Any) -> Any:
    # pydantic would also take unix timestamps and other shapes; callers send calendar dates only.
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class RecommendedAction(StrEnum):
    MAINTAIN = "MAINTAIN"
    REDUCE_LIMIT = "REDUCE_LIMIT"
    FREEZE = "FREEZE"
    INCREASE_LIMIT = "INCREASE_LIMIT"


class ScoredBy(StrEnum):
    model = "model"
    rules = "rules"
    in_default = "in_default"


class Reason(BaseModel):
    """One of the (up to three) reasons that raise this client's risk the most."""

    rank: int = Field(ge=1, le=3, description="1 = the reason that raises the risk most.")
    reason: str = Field(description="The reason in an analyst's words (seeds/scoring/feature_reasons.csv).")
    value: str | None = Field(
        description="The client's value of the feature behind it; null for rule reasons."
    )
    points: int | None = Field(description="Score points this reason costs the client.")


class ClientScore(BaseModel):
    """One client's score on one date: a row of the scored mart (marts.fct_client_scores)."""

    client_id: str
    score_date: date
    probability_of_default: float = Field(
        ge=0, le=1, description="Probability of a default in the next 60 days (model and rules blended)."
    )
    model_probability: float | None = Field(
        ge=0, le=1, description="Calibrated model probability; null when the client was scored by rules."
    )
    rule_probability: float | None = Field(ge=0, le=1, description="Probability from the rule score.")
    score: int = Field(description="Credit score on the scale of seeds/scoring/score_scale.csv (300-850).")
    score_band: str = Field(description="Band of the score (seeds/scoring/score_bands.csv).")
    rule_score: int | None = Field(description="Score of the rules alone, 0-1000, higher is safer.")
    segment: str | None = Field(description="Client segment that sets the model/rules blend.")
    risk_level: RiskLevel
    recommended_action: RecommendedAction
    reasons: list[Reason] = Field(description="What raises the risk most, strongest first (0 to 3).")
    model_version: str | None = Field(description="Model that scored the client; null when rules did.")
    scored_by: ScoredBy


class ClientScoreHistory(BaseModel):
    client_id: str
    date_from: date | None = Field(alias="from", description="Earliest score date asked for.")
    date_to: date | None = Field(alias="to", description="Latest score date asked for.")
    scores: list[ClientScore] = Field(description="Newest first.")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class BureauReport(BaseModel):
    """The applicant's credit-bureau report, with the bureau's field names (data contract, hcpn files)."""

    fecha_consulta: IsoDate = Field(description="Date of the bureau query; on or before the application.")
    estado_solicitud: Literal["aprobado", "rechazado"]
    motivo_rechazo: str | None = Field(None, max_length=500)
    puntaje_credito: float | None = Field(None, ge=0, le=1000, description="External credit score, 0-1000.")
    defaults_bureau: int | None = Field(None, ge=0, le=10_000, description="Defaults with other lenders.")
    deuda_total_externa: float | None = Field(None, ge=0, le=1e15, description="External debt, COP.")
    creditos_activos: int | None = Field(None, ge=0, le=10_000, description="Active credits elsewhere.")

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ApplicantRequest(BaseModel):
    """What the lender knows of a prospective client at application time (nothing is stored)."""

    applicant_reference: ClientId | None = Field(
        None, description="The caller's own reference (e.g. application number); echoed as client_id."
    )
    application_date: IsoDate = Field(description="The date the applicant is scored at.")
    industry: Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    requested_credit_limit: float = Field(ge=0, le=1e15, description="Requested credit limit, COP.")
    bureau_report: BureauReport | None = Field(None, description="Latest bureau report, if any.")

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="after")
    def _report_known_at_application(self) -> ApplicantRequest:
        report = self.bureau_report
        if report is not None and report.fecha_consulta > self.application_date:
            raise ValueError("bureau_report.fecha_consulta is after application_date: it was not known yet")
        return self


class LookupRequest(BaseModel):
    client_ids: list[ClientId] = Field(
        min_length=1,
        max_length=MAX_LOOKUP_IDS,
        description=f"Up to {MAX_LOOKUP_IDS} client ids; duplicates are answered once.",
    )
    score_date: IsoDate | None = Field(None, description="Score date; default each client's latest.")

    model_config = ConfigDict(extra="forbid")


class LookupResponse(BaseModel):
    score_date: date | None = Field(description="The date asked for; null = each client's latest.")
    scores: list[ClientScore] = Field(description="Found scores, in the order the ids were sent.")
    unknown_client_ids: list[str] = Field(description="Ids with no score at all in the snapshot.")
    no_score_on_date: list[str] = Field(description="Known ids without a score on the date asked for.")


class ScorePage(BaseModel):
    score_date: date
    items: list[ClientScore] = Field(description="Ordered by client_id (code point order).")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
    limit: int


def _utc(value: datetime) -> datetime:
    # The registry writes naive UTC times; the API says so explicitly (RFC 3339 needs an offset).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class ModelFeature(BaseModel):
    name: str
    kind: str = Field(description="numeric or categorical.")
    monotone: int = Field(
        description="+1: a higher value never lowers the risk; -1: never raises it; 0: free."
    )


class DataWindow(BaseModel):
    start: date
    end: date
    dates: int | None = Field(None, description="Feature dates in the window.")
    rows: int | None = None
    defaults: int | None = None


class ModelCard(BaseModel):
    """The champion's card, as the pipeline published it (completed from the model registry)."""

    model_version: str
    trained_at: UtcDatetime | None = None
    as_of_date: date | None = Field(None, description="The data date the model was trained for.")
    status: str | None = None
    training_window: dict[str, DataWindow] | None = Field(
        None, description="Out-of-time split: train, valid (early stopping, calibration), test."
    )
    test_window: list[date] | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict, description="Out-of-time test metrics.")
    baseline_metrics: dict[str, float | None] | None = Field(
        None, description="The rule score's metrics on the same test rows."
    )
    features: list[ModelFeature] | None = None


class SnapshotInfo(BaseModel):
    file: str = Field(description="The published parquet file being served.")
    published_at: datetime = Field(description="When the snapshot file was written (UTC).")
    loaded_at: datetime = Field(description="When this API process loaded it (UTC).")
    rows: int
    clients: int
    score_dates: int
    earliest_score_date: date
    latest_score_date: date
    model_version: str | None = Field(description="Champion model version of the model card, if any.")


class Ready(BaseModel):
    status: str = "ready"
    snapshot: SnapshotInfo


class Health(BaseModel):
    status: str = "ok"


class ErrorCode(StrEnum):
    """Every `error.code` the API answers with: stable, so callers can branch on it."""

    UNAUTHENTICATED = "unauthenticated"
    KEY_REVOKED = "key_revoked"
    INVALID_REQUEST = "invalid_request"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_RANGE = "invalid_range"
    UNKNOWN_BAND = "unknown_band"
    BATCH_TOO_LARGE = "batch_too_large"
    BODY_TOO_LARGE = "body_too_large"
    CLIENT_NOT_FOUND = "client_not_found"
    SCORE_NOT_FOUND = "score_not_found"
    NO_MODEL = "no_model"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HTTP_ERROR = "http_error"
    SNAPSHOT_UNAVAILABLE = "snapshot_unavailable"
    NOT_READY = "not_ready"
    APPLICANT_SCORING_UNAVAILABLE = "applicant_scoring_unavailable"
    INTERNAL_ERROR = "internal_error"


class ErrorBody(BaseModel):
    code: ErrorCode = Field(description="Stable machine-readable code, e.g. client_not_found.")
    message: str = Field(description="What went wrong and what to do, for a person.")
    details: list[dict[str, Any]] | None = Field(None, description="Per-field problems of a 422.")


class ErrorResponse(BaseModel):
    """Every error of the API has this shape."""

    error: ErrorBody
