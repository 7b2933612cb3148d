"""The reference distributions a model is monitored against: each feature, the probability and the margin,
as the model saw them in its training rows. dbt's monitoring marts (models/marts/monitoring/) bin every
later date on the same edges and compare the shares.

A feature with a look-back window (seed `monitored_features`, `window_days`) takes its reference from the
training rows whose feature date lies at least that window after the start of the history: earlier rows
describe incomplete windows (a 180-day count in the first month of data) and would make every later date
drift. When no training row qualifies, all are used, and `reference_start` tells dbt so.

Numeric: quantile bin edges that are observed values (so no bin is empty by construction), bins
(-inf, e1], (e1, e2], ..., (ek, +inf); ties at an edge collapse bins, so a count feature with few
values gets fewer bins. Categorical: one bin per training level. Shares are over the non-null rows;
the null share is stored beside them.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from ml.features import CATEGORICAL, NUMERIC, FeatureSet, build_matrix
from ml.warehouse import TableSpec, TableWrite, Warehouse

# The dbt seeds that hold the number of bins (parameter `drift_bins`) and each feature's look-back window.
MONITORING_PARAMETERS = "seeds.monitoring_parameters"
MONITORED_FEATURES = "seeds.monitored_features"
BINS_PARAMETER = "drift_bins"
# Used only when the seed table is absent (a warehouse whose marts were not built by dbt, as in ml/tests).
DEFAULT_BINS = 10
# The model's own outputs, monitored like features (mon_score_drift).
PROBABILITY = "model_probability"
MARGIN = "model_margin"
SCORE_KIND = "score"

BASELINES = TableSpec(
    name="ml.ml_feature_baselines",
    columns=(
        ("model_version", "string"),
        ("variable", "string"),
        ("variable_kind", "string"),
        ("bin_index", "int"),
        ("bin_lower", "float"),
        ("bin_upper", "float"),
        ("category", "string"),
        ("baseline_share", "float"),
        ("baseline_rows", "int"),
        ("baseline_null_share", "float"),
        ("reference_start", "date"),
        ("reference_end", "date"),
        ("bins_requested", "int"),
        ("created_at", "timestamp"),
    ),
    replace_key=("model_version",),
)


class BaselineError(ValueError):
    """The reference distribution cannot be computed as asked."""


def drift_bins(warehouse: Warehouse) -> int:
    """The number of quantile bins from the seed `monitoring_parameters` (DEFAULT_BINS when absent)."""
    if warehouse.table_columns(MONITORING_PARAMETERS) is None:
        return DEFAULT_BINS
    rows = warehouse.read(
        f"select value from {MONITORING_PARAMETERS} where parameter = ?",  # noqa: S608
        [BINS_PARAMETER],
    )
    if rows.empty:
        return DEFAULT_BINS
    value = float(rows["value"].iloc[0])
    if not value.is_integer() or not 2 <= value <= 100:
        raise BaselineError(
            f"seed monitoring_parameters: {BINS_PARAMETER} must be a whole number from 2 to 100, got {value}"
        )
    return int(value)


def feature_windows(warehouse: Warehouse) -> dict[str, int]:
    """Each listed feature's look-back window in days, from the seed `monitored_features` (none when absent)."""
    if warehouse.table_columns(MONITORED_FEATURES) is None:
        return {}
    rows = warehouse.read(f"select feature, window_days from {MONITORED_FEATURES}")  # noqa: S608
    return {str(r.feature): int(r.window_days) for r in rows.itertuples() if pd.notna(r.window_days)}


def numeric_bins(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Interior edges and the share of `values` (non-null) in each bin (-inf, e1], ..., (ek, +inf)."""
    if bins < 2:
        raise BaselineError(f"need at least 2 bins, got {bins}")
    if len(values) == 0:
        return np.array([], dtype=np.float64), np.array([], dtype=np.float64)
    # inverted_cdf: every edge is an observed value, so each bin (e_{i-1}, e_i] holds at least e_i
    quantiles = np.quantile(values, np.arange(1, bins) / bins, method="inverted_cdf")
    edges = np.unique(quantiles)
    edges = edges[edges < values.max()]  # an edge at the maximum would leave the top bin empty
    # value <= e_i lands in bin i: the rows at or below each edge, one pass per edge (not a search per row)
    at_or_below = [np.count_nonzero(values <= edge) for edge in edges]
    counts = np.diff(np.array([0, *at_or_below, len(values)]))
    return edges, counts / len(values)


def baseline_rows(
    frame: pd.DataFrame,
    feature_set: FeatureSet,
    *,
    probability: np.ndarray,
    margin: np.ndarray,
    model_version: str,
    bins: int,
    created_at: datetime,
    windows: dict[str, int] | None = None,
    history_start: date | None = None,
    matrix: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows of ml_feature_baselines for one model: every feature of `feature_set` read from `frame` (its
    training rows, as the model consumed them; for a feature with a look-back window in `windows`, those at
    least the window after `history_start` when any are), then the model's probability and margin on all
    the rows. `matrix` is build_matrix(frame, feature_set) when the caller has it already."""
    if frame.empty:
        raise BaselineError("no training rows to compute a baseline from")
    if matrix is None:
        matrix = build_matrix(frame, feature_set)
    dates = pd.to_datetime(frame["feature_date"])
    references: dict[int, tuple[np.ndarray, dict]] = {}  # by look-back window: the rows used, their dates

    def reference(window: int) -> tuple[np.ndarray, dict]:
        if window not in references:
            complete = (
                dates >= pd.Timestamp(history_start) + pd.Timedelta(days=window) if history_start else None
            )
            used = complete if complete is not None and window > 0 and complete.any() else dates.notna()
            span = {"reference_start": dates[used].min().date(), "reference_end": dates[used].max().date()}
            references[window] = (used.to_numpy(), span)
        return references[window]

    rows: list[dict] = []
    for feature in feature_set.features:
        used, span = reference((windows or {}).get(feature.name, 0))
        if feature.kind == NUMERIC:
            values = matrix[feature.name].to_numpy(np.float64)[used]
            missing = np.isnan(values)
            null_share = float(missing.mean())
            rows += [
                r | span for r in _numeric_rows(feature.name, NUMERIC, values[~missing], bins, null_share)
            ]
        elif feature.kind == CATEGORICAL:
            column = matrix.loc[used, feature.name]
            null_share = float(column.isna().mean())
            present = column.dropna()
            # counted by category, not by each row's text; a category absent from these rows gets no bin
            shares = present.value_counts(normalize=True)
            shares = shares[shares > 0]
            shares.index = shares.index.astype(str)
            for index, category in enumerate(sorted(shares.index)):
                rows.append(
                    _row(
                        feature.name, CATEGORICAL, index, None, None, category, shares[category], len(present)
                    )
                    | {"baseline_null_share": null_share}
                    | span
                )
        else:
            raise BaselineError(f"feature {feature.name} has unknown kind {feature.kind}")
    everything = {"reference_start": dates.min().date(), "reference_end": dates.max().date()}
    for name, values in ((PROBABILITY, probability), (MARGIN, margin)):
        values = np.asarray(values, dtype=np.float64)
        if len(values) != len(frame):
            raise BaselineError(f"{name}: {len(values)} values for {len(frame)} training rows")
        present = values[~np.isnan(values)]
        rows += [
            r | everything
            for r in _numeric_rows(name, SCORE_KIND, present, bins, 1.0 - len(present) / len(values))
        ]
    out = pd.DataFrame(rows)
    out["model_version"] = model_version
    out["bins_requested"] = bins
    out["created_at"] = created_at
    return out[BASELINES.column_names]


def _numeric_rows(name: str, kind: str, values: np.ndarray, bins: int, null_share: float) -> list[dict]:
    edges, shares = numeric_bins(values, bins)
    lowers = [None, *edges.tolist()]
    uppers = [*edges.tolist(), None]
    return [
        _row(name, kind, index, lowers[index], uppers[index], None, float(share), len(values))
        | {"baseline_null_share": null_share}
        for index, share in enumerate(shares)
    ]


def _row(name, kind, index, lower, upper, category, share, n) -> dict:
    return {
        "variable": name,
        "variable_kind": kind,
        "bin_index": index,
        "bin_lower": lower,
        "bin_upper": upper,
        "category": category,
        "baseline_share": float(share),
        "baseline_rows": int(n),
    }


def baseline_write(rows: pd.DataFrame, model_version: str) -> TableWrite:
    """The write that replaces the model version's baseline rows (written before its registry row, so a
    registered model always has its baseline)."""
    return TableWrite(BASELINES, rows, replace_keys=pd.DataFrame({"model_version": [model_version]}))
