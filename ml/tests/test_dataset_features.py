"""Out-of-time split, feature selection and the model matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.dataset import NotEnoughHistoryError, split_out_of_time
from ml.features import CATEGORICAL, NUMERIC, FeatureError, FeatureSet, build_matrix, select_features


def _frame(dates: int, per_date: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-31", periods=dates, freq="ME")
    return pd.DataFrame(
        {
            "client_id": np.tile([f"C{i:03d}" for i in range(per_date)], dates),
            "feature_date": np.repeat(days, per_date),
            "dpd_mean_6m": rng.random(per_date * dates),
            "default_next_60d": np.tile([0, 1], per_date * dates // 2),
        }
    )


@pytest.mark.parametrize("dates", [3, 4, 7, 12, 25])
def test_split_dates_never_overlap_and_follow_time(dates):
    split = split_out_of_time(_frame(dates), test_share=0.2, valid_share=0.2)
    train, valid, test = (set(p["feature_date"]) for p in (split.train, split.valid, split.test))
    assert train and valid and test
    assert not (train & valid or train & test or valid & test)
    assert max(train) < min(valid) and max(valid) < min(test)
    assert len(split.train) + len(split.valid) + len(split.test) == dates * 50
    # The test dates are the latest ones.
    assert max(test) == _frame(dates)["feature_date"].max()


def test_split_takes_whole_dates_until_the_shares_are_reached():
    split = split_out_of_time(_frame(10), test_share=0.2, valid_share=0.3)
    assert split.test["feature_date"].nunique() == 2
    assert split.valid["feature_date"].nunique() == 3
    assert split.train["feature_date"].nunique() == 5


def test_too_few_dates_is_a_clear_error():
    with pytest.raises(NotEnoughHistoryError, match="2 matured feature date.*at least 3"):
        split_out_of_time(_frame(2), test_share=0.2, valid_share=0.2)


def test_a_part_with_one_label_class_is_a_clear_error():
    frame = _frame(6)
    frame.loc[frame["feature_date"] == frame["feature_date"].max(), "default_next_60d"] = 0
    with pytest.raises(NotEnoughHistoryError, match="test dates .* only one label class"):
        split_out_of_time(frame, test_share=0.1, valid_share=0.2)


def _mart_like() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["A", "B", "C", "D"],
            "feature_date": pd.to_datetime(["2024-01-31"] * 4),
            "registration_date": pd.to_datetime(["2020-01-01"] * 4),
            "default_next_60d": [0, 1, 0, 1],
            "label_matured": [True] * 4,
            "in_default_at_feature_date": [False] * 4,
            "days_to_default_next_60d": [1, 2, 3, 4],
            "client_name_hash": ["h1", "h2", "h3", "h4"],
            "dpd_max_6m": pd.array([0, 15, None, 90], dtype="Int32"),
            "recency_weighted_payment_score_30d": [100.0, 55.0, np.nan, 0.0],
            "has_active_plan": pd.array([True, False, None, True], dtype="boolean"),
            "segment": ["new", "established", "new", None],
            "industry": [f"industry {i}" for i in range(4)],
            "always_empty": [np.nan] * 4,
        }
    )


def test_feature_selection_is_explicit_and_recorded():
    features = select_features(_mart_like())
    assert features.names == [
        "dpd_max_6m",
        "recency_weighted_payment_score_30d",
        "has_active_plan",
        "segment",
        "industry",
    ]
    kinds = {f.name: f.kind for f in features.features}
    assert kinds["segment"] == CATEGORICAL and kinds["has_active_plan"] == NUMERIC
    assert {f.name: f.monotone for f in features.features}["dpd_max_6m"] == 1
    assert {f.name: f.monotone for f in features.features}["recency_weighted_payment_score_30d"] == -1
    assert set(features.excluded) == {
        "client_id",
        "feature_date",
        "registration_date",
        "default_next_60d",
        "label_matured",
        "in_default_at_feature_date",
        "days_to_default_next_60d",
        "client_name_hash",
        "always_empty",
    }
    assert "leakage" in features.excluded["days_to_default_next_60d"]
    assert FeatureSet.from_json(features.to_json()) == features


def test_text_with_many_levels_is_not_a_category():
    frame = pd.DataFrame({"note": [f"free text {i}" for i in range(100)], "x": range(100)})
    features = select_features(frame)
    assert features.names == ["x"]
    assert "100 levels" in features.excluded["note"]


def test_matrix_keeps_order_types_and_training_categories():
    features = select_features(_mart_like())
    scoring = _mart_like().iloc[::-1].assign(segment=["unseen", "new", None, "established"])
    matrix = build_matrix(scoring, features)
    assert list(matrix.columns) == features.names
    assert list(matrix["segment"].cat.categories) == ["established", "new"]
    # A level never seen in training is missing, not a new code.
    assert matrix["segment"].isna().tolist() == [True, False, True, False]
    assert matrix["dpd_max_6m"].dtype == "float64" and np.isnan(matrix["dpd_max_6m"].iloc[1])


def test_missing_feature_names_the_column():
    features = select_features(_mart_like())
    with pytest.raises(FeatureError, match="expects feature.*dpd_max_6m"):
        build_matrix(_mart_like().drop(columns=["dpd_max_6m"]), features)


def test_numeric_feature_holding_text_is_refused():
    features = select_features(_mart_like())
    with pytest.raises(FeatureError, match="dpd_max_6m should be numeric"):
        build_matrix(_mart_like().assign(dpd_max_6m=["a", "b", "c", "d"]), features)


def test_matrix_shares_the_frames_numbers_instead_of_copying_them():
    """The matrix holds each column apart (XGBoost reads them one by one): a float column of the frame is
    not copied into one block of all features (at 250,000 rows x 60 that copy cost 0.1-0.4 CPU s). Rows keep
    the frame's index, duplicated or unordered."""
    frame = _mart_like().set_index(pd.Index([3, 3, 1, 0]))
    features = select_features(frame)
    matrix = build_matrix(frame, features)
    column = "recency_weighted_payment_score_30d"
    assert np.shares_memory(matrix[column].to_numpy(), frame[column].to_numpy())
    assert list(matrix.index) == [3, 3, 1, 0] and list(matrix.columns) == features.names
    np.testing.assert_array_equal(matrix[column].to_numpy(), frame[column].to_numpy())
    assert matrix["segment"].astype(object).tolist() == ["new", "established", "new", np.nan]
