"""A model's feature list and its input matrix: what the model consumes, in its order and types.

Which mart columns become features is decided at training (`ml.features.select_features`); applying a
model (the daily scoring and an applicant's score alike) needs only what is here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

NUMERIC = "numeric"
CATEGORICAL = "categorical"
# How each kind is declared to XGBoost (the model JSON records these; loading compares them).
XGBOOST_TYPES = {NUMERIC: "float", CATEGORICAL: "c"}


class FeatureError(ValueError):
    """The data does not hold the features a model needs, in the types it needs."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    monotone: int = 0
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeatureSet:
    """The ordered features of one model, with the mart columns left out and why."""

    features: tuple[Feature, ...]
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def xgboost_types(self) -> list[str]:
        return [XGBOOST_TYPES[f.kind] for f in self.features]

    @property
    def monotone_constraints(self) -> tuple[int, ...]:
        return tuple(f.monotone for f in self.features)

    def to_json(self) -> dict:
        return {
            "features": [asdict(f) | {"categories": list(f.categories)} for f in self.features],
            "excluded": dict(sorted(self.excluded.items())),
        }

    @classmethod
    def from_json(cls, payload: dict) -> FeatureSet:
        features = tuple(
            Feature(f["name"], f["kind"], int(f["monotone"]), tuple(f["categories"]))
            for f in payload["features"]
        )
        return cls(features, dict(payload.get("excluded", {})))

    def sha256(self) -> str:
        """Fingerprint of what the model consumes: names, order, kinds and category levels."""
        signature = [[f.name, f.kind, list(f.categories)] for f in self.features]
        return hashlib.sha256(json.dumps(signature).encode()).hexdigest()


def build_matrix(frame: pd.DataFrame, feature_set: FeatureSet) -> pd.DataFrame:
    """The model's input: exactly its features, in its order and types. A missing column is an error,
    never a silent zero; a category unseen in training becomes missing, as XGBoost treats it."""
    missing = [name for name in feature_set.names if name not in frame.columns]
    if missing:
        raise FeatureError(
            f"the model expects feature(s) {', '.join(missing)} which the data lacks"
            f" (it has {len(frame.columns)} columns)"
        )
    columns: dict[str, pd.Series] = {}
    for feature in feature_set.features:
        column = frame[feature.name]
        if feature.kind == NUMERIC:
            if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
                raise FeatureError(f"feature {feature.name} should be numeric but holds {column.dtype}")
            columns[feature.name] = column.astype("float64")
        else:
            # Each distinct value once, not each row: its text (str(), as the levels were recorded), then its
            # place among the model's levels; a missing value or an unseen level is code -1, missing.
            codes, values = pd.factorize(column, use_na_sentinel=True)
            level = {name: index for index, name in enumerate(feature.categories)}
            lookup = np.array([level.get(str(v), -1) for v in values] + [-1], dtype=np.int64)
            columns[feature.name] = pd.Series(
                pd.Categorical.from_codes(lookup[codes], categories=list(feature.categories)),
                index=frame.index,
            )
    return pd.concat(columns, axis=1) if columns else pd.DataFrame(index=frame.index)
