"""Which mart columns are model features, of what type, under which monotone constraint: decided here only.

The feature list itself and the model's input matrix are `scoring.features` (applying a model needs them,
deciding the features does not); they are imported here for training.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from scoring.features import (
    CATEGORICAL,
    NUMERIC,
    XGBOOST_TYPES,
    Feature,
    FeatureError,
    FeatureSet,
    build_matrix,
)

__all__ = [
    "CATEGORICAL",
    "NUMERIC",
    "XGBOOST_TYPES",
    "Feature",
    "FeatureError",
    "FeatureSet",
    "build_matrix",
    "monotone_direction",
    "select_features",
]

# Mart columns that are never features, and why.
NON_FEATURE_COLUMNS: dict[str, str] = {
    "client_id": "key",
    "feature_date": "key",
    "default_next_60d": "label",
    "label_matured": "label bookkeeping",
    "in_default_at_feature_date": "label bookkeeping: such rows are not trained on",
    "default_event_date": "label bookkeeping",
    "is_month_end": "which spine the date came from, not risk",
    "rule_score": "the baseline, blended with the model in dbt: as a feature it would count twice",
    "rule_probability": "the baseline, blended with the model in dbt: as a feature it would count twice",
}
# Any column named like a label is refused as a feature, so a new forward-looking column cannot leak in.
LEAKAGE_MARKERS = ("default_next", "label_", "next_60d")
# A text column with more levels than this is an identifier or free text, not a category.
MAX_CATEGORY_LEVELS = 30

# Monotone constraints by feature name: first matching pattern wins. +1 = a higher value never lowers the
# predicted risk, -1 = never raises it, 0 = no constraint (the direction is not a matter of credit meaning).
MONOTONE_RULES: tuple[tuple[str, int, str], ...] = (
    (
        r"(^|_)(std|stddev|volatility|trend|change|changes|days_since|months_since)(_|$)",
        0,
        "no fixed direction",
    ),
    (r"payment_score|timeliness", -1, "a better payment record never raises risk"),
    (r"bureau_score|credit_score", -1, "a better external score never raises risk"),
    (r"(^|_)(dpd|days_past_due|overdue|late)(_|$)", +1, "more lateness never lowers risk"),
    (r"(^|_)(utili[sz]ation|over_limit|near_limit)(_|$)", +1, "more use of the line never lowers risk"),
    (r"(^|_)(bureau_defaults|defaulted)(_|$)", +1, "more past defaults never lower risk"),
)


def monotone_direction(name: str) -> int:
    for pattern, direction, _why in MONOTONE_RULES:
        if re.search(pattern, name.lower()):
            return direction
    return 0


def select_features(frame: pd.DataFrame) -> FeatureSet:
    """Decide the features from the training frame's columns and dtypes; record every exclusion."""
    features: list[Feature] = []
    excluded: dict[str, str] = {}
    for name in frame.columns:
        column = frame[name]
        if name in NON_FEATURE_COLUMNS:
            excluded[name] = NON_FEATURE_COLUMNS[name]
        elif any(marker in name for marker in LEAKAGE_MARKERS):
            excluded[name] = "named like a label: refused to avoid leakage"
        elif name.endswith("_hash"):
            excluded[name] = "hashed identifier"
        elif pd.api.types.is_datetime64_any_dtype(column) or _holds_dates(column):
            excluded[name] = "absolute date: does not carry over to later dates"
        elif column.isna().all():
            excluded[name] = "no values in the training data"
        elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            features.append(Feature(name, NUMERIC, monotone_direction(name)))
        else:
            levels = sorted(str(v) for v in column.dropna().unique())
            if len(levels) > MAX_CATEGORY_LEVELS:
                excluded[name] = f"text with {len(levels)} levels: an identifier or free text"
            else:
                features.append(Feature(name, CATEGORICAL, 0, tuple(levels)))
    if not features:
        raise FeatureError(f"no usable feature columns among {list(frame.columns)}")
    return FeatureSet(tuple(features), excluded)


def _holds_dates(column: pd.Series) -> bool:
    if column.dtype != object:
        return False
    sample = column.dropna().head(20)
    return len(sample) > 0 and all(
        isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "isoformat") for v in sample
    )
