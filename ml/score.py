"""Score every client at one feature date with the champion, with XGBoost's own per-feature contributions.

Clients already in default at the date are not scored: the model never saw such rows.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xgboost as xgb

from ml import dataset
from ml.features import build_matrix
from ml.registry import RegisteredModel, champion_row, load_model
from ml.warehouse import TableSpec, TableWrite, Warehouse, open_warehouse

REASONS_PER_CLIENT = 3
IN_DEFAULT = "in_default_at_feature_date"
# Contributions are stored to 1e-6 log-odds: far below any difference a reader could act on.
CONTRIBUTION_DECIMALS = 6

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


def score_frame(
    model: RegisteredModel, frame: pd.DataFrame, scored_at: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of ml_scores and ml_score_reasons for the clients in `frame` (one feature date or many)."""
    matrix = build_matrix(frame, model.features)
    dmatrix = xgb.DMatrix(matrix, enable_categorical=True)
    margin = model.booster.predict(dmatrix, output_margin=True).astype(np.float64)
    contribs = model.booster.predict(dmatrix, pred_contribs=True).astype(np.float64)
    per_feature, bias = contribs[:, :-1], contribs[:, -1]
    scores = pd.DataFrame(
        {
            "client_id": frame["client_id"].astype(str).to_numpy(),
            "feature_date": frame["feature_date"].to_numpy(),
            "model_probability": model.calibrator.predict(margin),
            "model_margin": margin,
            "model_version": model.version,
            "contributions": contributions_json(model.features.names, per_feature),
            "bias": bias,
            "scored_at": scored_at,
        }
    )
    return scores, _reasons(model, frame, per_feature)


def contributions_json(names: list[str], per_feature: np.ndarray) -> pd.Series:
    """One JSON object per row, feature -> contribution, built column by column in Arrow (100,000 rows of
    50 features in under a second, where json.dumps per row takes several)."""
    rounded = np.round(per_feature, CONTRIBUTION_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    pieces: list[object] = []
    for j, name in enumerate(names):
        pieces.append(("{" if j == 0 else ",") + json.dumps(name) + ":")
        pieces.append(pc.cast(pa.array(rounded[:, j]), pa.string()))
    pieces.append("}")
    return pd.Series(pc.binary_join_element_wise(*pieces, "").to_pandas(), name="contributions")


def _reasons(model: RegisteredModel, frame: pd.DataFrame, per_feature: np.ndarray) -> pd.DataFrame:
    """The features that raise each client's risk most: positive contributions only, largest first."""
    k = min(REASONS_PER_CLIENT, per_feature.shape[1])
    top = np.argsort(-per_feature, axis=1, kind="stable")[:, :k]
    row_index = np.repeat(np.arange(len(frame)), k)
    feature_index = top.ravel()
    contribution = per_feature[row_index, feature_index]
    rank = np.tile(np.arange(1, k + 1), len(frame))
    keep = contribution > 0
    row_index, feature_index, contribution, rank = (
        a[keep] for a in (row_index, feature_index, contribution, rank)
    )
    values = np.full(len(row_index), None, dtype=object)
    for j, name in enumerate(model.features.names):
        mask = feature_index == j
        if mask.any():
            values[mask] = values_as_text(frame[name], row_index[mask])
    return pd.DataFrame(
        {
            "client_id": frame["client_id"].astype(str).to_numpy()[row_index],
            "feature_date": frame["feature_date"].to_numpy()[row_index],
            "rank": rank,
            "feature": np.asarray(model.features.names, dtype=object)[feature_index],
            "feature_value": values,
            "contribution": contribution,
        }
    )


def values_as_text(column: pd.Series, positions: np.ndarray) -> np.ndarray:
    """The mart's values at `positions` as text, as the mart holds them (12, 0.35, true, established);
    missing values stay missing."""
    picked = pa.array(column.iloc[positions], from_pandas=True)
    if pa.types.is_dictionary(picked.type):
        picked = picked.dictionary_decode()
    if not (pa.types.is_string(picked.type) or pa.types.is_large_string(picked.type)):
        # Arrow prints floats shortest-first, so whole numbers read "12", not "12.0".
        picked = pc.cast(picked, pa.string())
    return picked.to_numpy(zero_copy_only=False)


def score_date(settings, feature_date: date, *, warehouse: Warehouse | None = None) -> ScoreResult:
    """Score every client of `marts.fct_client_features` at `feature_date` that is not in default, with
    the champion, and replace that date's rows of ml.ml_scores and ml.ml_score_reasons in one transaction."""
    started = time.perf_counter()
    warehouse = warehouse or open_warehouse(settings.warehouse)
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
