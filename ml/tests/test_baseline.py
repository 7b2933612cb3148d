"""The reference distributions written at training: bins from quantiles of the training rows, by version."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.baseline import (
    BASELINES,
    DEFAULT_BINS,
    MARGIN,
    PROBABILITY,
    BaselineError,
    drift_bins,
    numeric_bins,
)
from ml.dataset import load_training_set
from ml.features import CATEGORICAL, NUMERIC, build_matrix
from ml.registry import load_model
from ml.train import margins, train_model
from ml.warehouse import DuckDBWarehouse


def test_continuous_values_fill_every_bin_evenly_and_edges_are_observed_values():
    values = np.random.default_rng(1).normal(size=10_000)
    edges, shares = numeric_bins(values, 10)
    assert len(edges) == 9 and len(shares) == 10
    assert set(edges) <= set(values)
    assert shares.sum() == pytest.approx(1.0, abs=1e-12)
    assert shares == pytest.approx(np.full(10, 0.1), abs=1e-3)


def test_ties_collapse_bins_and_no_bin_is_empty():
    values = np.array([0.0] * 70 + [1.0] * 20 + [5.0] * 10)
    edges, shares = numeric_bins(values, 10)
    # a bin holds (e_{i-1}, e_i]: 0 -> first, 1 -> second, 5 (the maximum, never an edge) -> last
    assert edges.tolist() == [0.0, 1.0]
    assert shares.tolist() == pytest.approx([0.7, 0.2, 0.1])
    constant = numeric_bins(np.full(50, 3.0), 10)
    assert constant[0].size == 0 and constant[1].tolist() == [1.0]
    with pytest.raises(BaselineError):
        numeric_bins(values, 1)


def test_bins_come_from_the_seed_table_when_it_exists(settings):
    warehouse = DuckDBWarehouse(settings.warehouse)
    assert drift_bins(warehouse) == DEFAULT_BINS
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema seeds")
        con.execute("create table seeds.monitoring_parameters (parameter varchar, value double)")
        con.execute("insert into seeds.monitoring_parameters values ('drift_bins', 5)")
    assert drift_bins(warehouse) == 5
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update seeds.monitoring_parameters set value = 2.5")
    with pytest.raises(BaselineError, match="whole number"):
        drift_bins(warehouse)


def test_training_writes_the_baseline_of_its_training_rows(settings):
    result = train_model(settings)
    warehouse = DuckDBWarehouse(settings.warehouse)
    stored = warehouse.read(
        f"select * from {BASELINES.name} where model_version = ? order by variable, bin_index",  # noqa: S608
        [result.model_version],
    )
    model = load_model(settings.registry_path, result.model_version)
    assert set(stored["variable"]) == set(model.features.names) | {PROBABILITY, MARGIN}

    # recompute from the training rows the registry says the model learned from
    frame = load_training_set(warehouse)
    train = frame[frame["feature_date"] <= pd.Timestamp(result.split["train"]["end"])]
    assert len(train) == result.split["train"]["rows"]
    matrix = build_matrix(train, model.features)
    for feature in model.features.features:
        rows = stored[stored["variable"] == feature.name]
        column = matrix[feature.name]
        assert rows["baseline_null_share"].iloc[0] == pytest.approx(column.isna().mean(), abs=1e-12)
        assert rows["baseline_share"].sum() == pytest.approx(1.0, abs=1e-9)
        if feature.kind == NUMERIC:
            edges, shares = numeric_bins(column.dropna().to_numpy(np.float64), DEFAULT_BINS)
            assert rows["bin_upper"].dropna().tolist() == pytest.approx(edges.tolist())
            assert rows["baseline_share"].tolist() == pytest.approx(shares.tolist(), abs=1e-12)
            assert rows["bin_lower"].isna().iloc[0] and rows["bin_upper"].isna().iloc[-1]
        else:
            assert feature.kind == CATEGORICAL
            expected = column.dropna().astype(str).value_counts(normalize=True).sort_index()
            assert rows["category"].tolist() == expected.index.tolist()
            assert rows["baseline_share"].tolist() == pytest.approx(expected.tolist(), abs=1e-12)

    margin = margins(model.booster, matrix)
    rows = stored[stored["variable"] == PROBABILITY]
    edges, shares = numeric_bins(model.calibrator.predict(margin), DEFAULT_BINS)
    assert rows["baseline_share"].tolist() == pytest.approx(shares.tolist(), abs=1e-12)
    assert (stored["bins_requested"] == DEFAULT_BINS).all()


def test_each_version_keeps_its_own_baseline(settings):
    first = train_model(settings)
    second = train_model(settings)
    counts = DuckDBWarehouse(settings.warehouse).read(
        f"select model_version, count(*) as n from {BASELINES.name} group by 1 order by 1"  # noqa: S608
    )
    assert counts["model_version"].tolist() == sorted([first.model_version, second.model_version])
    assert counts["n"].nunique() == 1, "the same training rows give the same bins"


def test_a_windowed_feature_takes_its_reference_from_dates_with_a_complete_window(settings):
    from datetime import datetime

    from ml.baseline import baseline_rows
    from ml.features import select_features

    frame = load_training_set(DuckDBWarehouse(settings.warehouse))
    features = select_features(frame)
    numeric = [f.name for f in features.features if f.kind == NUMERIC][:2]
    dates = sorted(frame["feature_date"].unique())
    start = pd.Timestamp(dates[0]).date()
    window = (pd.Timestamp(dates[3]) - pd.Timestamp(dates[0])).days
    zeros = np.zeros(len(frame))
    kwargs = {"probability": zeros, "margin": zeros, "model_version": "v", "bins": 10}
    rows = baseline_rows(
        frame,
        features,
        **kwargs,
        created_at=datetime(2026, 1, 1),
        windows={numeric[0]: window},
        history_start=start,
    )
    windowed = rows[rows["variable"] == numeric[0]]
    assert (windowed["reference_start"] == pd.Timestamp(dates[3]).date()).all()
    later = frame[frame["feature_date"] >= dates[3]][numeric[0]].dropna().to_numpy(np.float64)
    assert windowed["baseline_share"].tolist() == pytest.approx(
        numeric_bins(later, 10)[1].tolist(), abs=1e-12
    )
    other = rows[rows["variable"] == numeric[1]]
    assert (other["reference_start"] == start).all(), "a feature without a window uses every training row"

    # a window longer than the whole training period: every row, and reference_start says so
    rows = baseline_rows(
        frame,
        features,
        **kwargs,
        created_at=datetime(2026, 1, 1),
        windows={numeric[0]: 10_000},
        history_start=start,
    )
    assert (rows[rows["variable"] == numeric[0]]["reference_start"] == start).all()


def test_a_category_absent_from_the_reference_rows_gets_no_bin():
    """Categories are counted by category: a level of the model that no reference row holds (here only the
    rows before the look-back window is complete hold it) has no bin, and missing values only a null share."""
    from datetime import datetime

    from ml.baseline import baseline_rows
    from ml.features import Feature, FeatureSet

    dates = pd.to_datetime(["2024-01-31"] * 3 + ["2024-06-30"] * 5)
    frame = pd.DataFrame(
        {
            "feature_date": dates,
            "segment": ["new", "new", "old", "old", "mid", None, "old", "mid"],
        }
    )
    features = FeatureSet((Feature("segment", CATEGORICAL, 0, ("mid", "new", "old")),))
    rows = baseline_rows(
        frame,
        features,
        probability=np.linspace(0.1, 0.9, 8),
        margin=np.linspace(-2, 2, 8),
        model_version="v1",
        bins=2,
        created_at=datetime(2024, 7, 1),
        windows={"segment": 90},
        history_start=pd.Timestamp("2024-01-31").date(),
    )
    segment = rows[rows["variable"] == "segment"]
    assert segment["category"].tolist() == ["mid", "old"]
    assert segment["bin_index"].tolist() == [0, 1]
    assert segment["baseline_share"].tolist() == [0.5, 0.5]
    assert (segment["baseline_rows"] == 4).all() and (segment["baseline_null_share"] == 0.2).all()
