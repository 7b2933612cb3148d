"""Score every client at one feature date with the champion, with XGBoost's own per-feature contributions
(applied by `scoring.model`, the code applicant scoring runs too).

Clients already in default at the date are not scored: the model never saw such rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd

from ml import dataset
from ml.registry import champion_row, load_model
from ml.warehouse import TableSpec, TableWrite, Warehouse, open_warehouse
from scoring.model import (
    CONTRIBUTION_DECIMALS,
    REASONS_PER_CLIENT,
    contributions_json,
    score_frame,
    values_as_text,
)

__all__ = [
    "CONTRIBUTION_DECIMALS",
    "REASONS",
    "REASONS_PER_CLIENT",
    "SCORES",
    "ScoringError",
    "contributions_json",
    "score_date",
    "score_frame",
    "values_as_text",
]

IN_DEFAULT = "in_default_at_feature_date"

SCORES = TableSpec(
    name="ml.ml_scores",
    columns=(
        ("client_id", "string"),
        ("feature_date", "date"),
        ("model_probability", "float"),
        ("model_margin", "float"),
        ("model_version", "string"),
        ("contributions", "string"),
        ("bias", "float"),
        ("scored_at", "timestamp"),
    ),
    replace_key=("feature_date",),
)
REASONS = TableSpec(
    name="ml.ml_score_reasons",
    columns=(
        ("client_id", "string"),
        ("feature_date", "date"),
        ("rank", "int"),
        ("feature", "string"),
        ("feature_value", "string"),
        ("contribution", "float"),
    ),
    replace_key=("feature_date",),
)


class ScoringError(RuntimeError):
    """Scoring cannot run as asked; the message says why and the CLI says what to do."""


@dataclass
class ScoreResult:
    feature_date: date
    model_version: str
    clients_scored: int
    clients_in_default: int
    reason_rows: int
    mean_probability: float | None
    seconds: float


def score_date(settings, feature_date: date, *, warehouse: Warehouse | None = None) -> ScoreResult:
    """Score every client of `marts.fct_client_features` at `feature_date` that is not in default, with
    the champion, and replace that date's rows of ml.ml_scores and ml.ml_score_reasons in one transaction."""
    started = time.perf_counter()
    warehouse = warehouse or open_warehouse(settings)
    row = champion_row(warehouse)
    if row is None:
        raise ScoringError("there is no champion model in ml.ml_model_registry")
    model = load_model(settings.registry_path, row["model_version"], row, threads=settings.ml_threads)
    frame = dataset.load_client_features(warehouse, feature_date)
    if frame.empty:
        raise ScoringError(f"{dataset.CLIENT_FEATURES} has no rows at feature date {feature_date}")
    # Clients already in default are outside what the model learned (never trained or tested on).
    in_default = frame[IN_DEFAULT].fillna(False).astype(bool) if IN_DEFAULT in frame else None
    if in_default is not None:
        frame = frame[~in_default.to_numpy()].reset_index(drop=True)
    duplicated = frame["client_id"].duplicated()
    if duplicated.any():
        raise ScoringError(
            f"{dataset.CLIENT_FEATURES} has {int(duplicated.sum())} duplicate client rows at {feature_date}"
            f" (e.g. client {frame.loc[duplicated, 'client_id'].iloc[0]}); its grain is one row per client and date"
        )
    scored_at = datetime.now(UTC).replace(tzinfo=None)
    scores, reasons = score_frame(model, frame, scored_at)
    this_date = pd.DataFrame({"feature_date": [pd.Timestamp(feature_date)]})
    warehouse.replace_rows(
        [
            TableWrite(SCORES, scores, replace_keys=this_date),
            TableWrite(REASONS, reasons, replace_keys=this_date),
        ]
    )
    return ScoreResult(
        feature_date=feature_date,
        model_version=model.version,
        clients_scored=len(scores),
        clients_in_default=0 if in_default is None else int(in_default.sum()),
        reason_rows=len(reasons),
        mean_probability=float(scores["model_probability"].mean()) if len(scores) else None,
        seconds=round(time.perf_counter() - started, 3),
    )
