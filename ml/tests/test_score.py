"""Scoring a feature date with the champion: contributions, reasons, idempotence, refusals."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml.features import FeatureError, build_matrix
from ml.registry import ModelIntegrityError, load_model
from ml.score import ScoringError, score_date
from ml.train import train_model
from ml.warehouse import DuckDBWarehouse

DAY = date(2025, 12, 31)


@pytest.fixture
def trained(settings):
    return train_model(settings)


def _read(settings, sql: str, params=()) -> pd.DataFrame:
    return DuckDBWarehouse(settings.warehouse).read(sql, list(params))


def test_every_client_is_scored_and_contributions_plus_bias_equal_the_margin(settings, trained):
    result = score_date(settings, DAY)
    everyone = _read(settings, "select * from marts.fct_client_features where feature_date = ?", [DAY])
    features = everyone[~everyone["in_default_at_feature_date"]].reset_index(drop=True)
    scores = _read(settings, "select * from ml.ml_scores order by client_id")
    assert result.clients_scored == len(scores) == len(features)
    # Clients already in default are outside the model's domain: not scored.
    assert result.clients_in_default == int(everyone["in_default_at_feature_date"].sum()) > 0
    assert scores["client_id"].tolist() == sorted(features["client_id"])
    assert set(scores["model_version"]) == {trained.model_version}
    assert (scores["feature_date"] == pd.Timestamp(DAY)).all()

    contributions = scores["contributions"].map(json.loads)
    total = contributions.map(lambda c: sum(c.values())) + scores["bias"]
    np.testing.assert_allclose(total, scores["model_margin"], atol=1e-4)
    model = load_model(settings.registry_path, trained.model_version)
    assert contributions.map(lambda c: sorted(c) == sorted(model.features.names)).all()

    # The exact contributions (before rounding) sum to the margin as XGBoost computes it.
    features["feature_date"] = pd.to_datetime(features["feature_date"])
    dmatrix = xgb.DMatrix(build_matrix(features, model.features), enable_categorical=True)
    exact = model.booster.predict(dmatrix, pred_contribs=True)
    margin = model.booster.predict(dmatrix, output_margin=True)
    np.testing.assert_allclose(exact.sum(axis=1), margin, atol=1e-5)
    by_client = scores.set_index("client_id").loc[features["client_id"]]
    np.testing.assert_allclose(by_client["model_margin"], margin, atol=1e-6)
    np.testing.assert_allclose(by_client["model_probability"], model.calibrator.predict(margin), atol=1e-12)


def test_reasons_are_the_three_largest_positive_contributions(settings, trained):
    score_date(settings, DAY)
    scores = _read(settings, "select client_id, contributions from ml.ml_scores")
    reasons = _read(settings, "select * from ml.ml_score_reasons order by client_id, rank")
    features = _read(
        settings,
        "select * from marts.fct_client_features where feature_date = ? and not in_default_at_feature_date",
        [DAY],
    ).set_index("client_id")
    by_client = reasons.groupby("client_id")
    assert sorted(scores["client_id"]) == sorted(features.index)
    for client_id, contributions in scores.itertuples(index=False):
        positive = sorted(((v, k) for k, v in json.loads(contributions).items() if v > 0), reverse=True)[:3]
        got = by_client.get_group(client_id) if client_id in by_client.groups else reasons.iloc[:0]
        assert got["rank"].tolist() == list(range(1, len(positive) + 1))
        assert got["feature"].tolist() == [k for _, k in positive]
        np.testing.assert_allclose(got["contribution"], [v for v, _ in positive], atol=1e-6)
        for feature, value in zip(got["feature"], got["feature_value"], strict=True):
            raw = features.loc[client_id, feature]
            if pd.isna(raw):
                assert value is None or pd.isna(value)
            elif isinstance(raw, str):
                assert value == raw
            else:
                assert float(value) == pytest.approx(float(raw), rel=1e-5)
    assert (reasons["contribution"] > 0).all()


def test_scoring_a_date_twice_replaces_it(settings, trained):
    first = score_date(settings, DAY)
    score_date(settings, date(2025, 11, 30))
    before = _read(
        settings, "select client_id, feature_date, model_probability from ml.ml_scores order by all"
    )
    reasons_before = _read(settings, "select count(*) as n from ml.ml_score_reasons")["n"].iloc[0]
    again = score_date(settings, DAY)
    after = _read(
        settings, "select client_id, feature_date, model_probability from ml.ml_scores order by all"
    )
    pd.testing.assert_frame_equal(before, after)
    assert _read(settings, "select count(*) as n from ml.ml_score_reasons")["n"].iloc[0] == reasons_before
    assert first.clients_scored == again.clients_scored
    keys = _read(settings, "select client_id, feature_date, count(*) as n from ml.ml_scores group by all")
    assert (keys["n"] == 1).all()


def test_a_feature_the_mart_lacks_is_an_error_naming_it_and_nothing_is_written(settings, trained):
    score_date(settings, DAY)
    before = _read(settings, "select * from ml.ml_scores order by client_id")
    con = duckdb.connect(str(settings.warehouse))
    con.execute("alter table marts.fct_client_features drop column dpd_mean_6m")
    con.close()
    with pytest.raises(FeatureError, match="dpd_mean_6m"):
        score_date(settings, DAY)
    pd.testing.assert_frame_equal(before, _read(settings, "select * from ml.ml_scores order by client_id"))


def test_a_model_file_from_another_feature_list_is_refused_at_scoring(settings, trained, client_frame):
    other = client_frame[["dpd_mean_6m", "utilization_pct"]]
    booster = xgb.train(
        {"tree_method": "hist"}, xgb.DMatrix(other, label=client_frame["default_next_60d"]), 3
    )
    booster.save_model(settings.registry_path / trained.model_version / "model.json")
    with pytest.raises(ModelIntegrityError, match="different feature list"):
        score_date(settings, DAY)
    assert DuckDBWarehouse(settings.warehouse).table_columns("ml.ml_scores") is None


def test_a_retrained_file_with_the_same_features_is_refused_by_its_checksum(settings, trained, client_frame):
    model = load_model(settings.registry_path, trained.model_version)
    frame = client_frame.assign(feature_date=pd.to_datetime(client_frame["feature_date"]))
    dmatrix = xgb.DMatrix(
        build_matrix(frame, model.features), label=frame["default_next_60d"], enable_categorical=True
    )
    xgb.train({"tree_method": "hist"}, dmatrix, 2).save_model(
        settings.registry_path / trained.model_version / "model.json"
    )
    with pytest.raises(ModelIntegrityError, match="differs from the registered model file"):
        score_date(settings, DAY)


def test_no_champion_and_no_rows_are_clear_errors(settings):
    with pytest.raises(ScoringError, match="no champion"):
        score_date(settings, DAY)
    train_model(settings)
    with pytest.raises(ScoringError, match="no rows at feature date 2030-01-31"):
        score_date(settings, date(2030, 1, 31))
