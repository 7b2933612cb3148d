"""Our metrics equal scikit-learn's and scipy's on the same data, ties and all."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ml.calibration import CalibrationError, Calibrator
from ml.evaluate import (
    MetricError,
    brier,
    calibration_slope_intercept,
    expected_calibration_error,
    gini,
    ks_statistic,
    pr_auc,
    roc_auc,
    score_metrics,
)


@pytest.fixture(params=[0, 1, 2])
def outcomes(request):
    """Imbalanced outcomes with a weakly informative probability; seed 2 rounds it to force many ties."""
    rng = np.random.default_rng(request.param)
    n = 3000
    latent = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.5 + latent)))).astype(int)
    p = 1 / (1 + np.exp(-(-2.5 + latent + rng.normal(0, 0.8, n))))
    if request.param == 2:
        p = np.round(p, 2)
    return y, p


def test_rank_metrics_equal_sklearn(outcomes):
    y, p = outcomes
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert gini(y, p) == pytest.approx(2 * roc_auc_score(y, p) - 1, abs=1e-12)
    assert pr_auc(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_auc_is_exactly_the_mann_whitney_rank_sum_of_the_defaults():
    """Exactly, not approximately: the defaults' average ranks (scipy's rankdata) are half-integers whose sum
    is exact, so the AUC of ties-heavy float32 margins (as training's early stopping scores them) carries
    no rounding of its own that could move the round kept."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(5)
    for n, levels in ((50_000, 40), (3_000, 3), (20_000, 20_000)):
        y = (rng.random(n) < 0.03).astype(int)
        margin = rng.integers(0, levels, n).astype(np.float32) / 7
        n_pos, n_neg = float(y.sum()), float(n - y.sum())
        rank_sum = float(np.sum(rankdata(margin)[y == 1]))
        assert roc_auc(y, margin) == (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_ks_equals_scipy_two_sample_statistic(outcomes):
    y, p = outcomes
    assert ks_statistic(y, p) == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)


def test_calibration_slope_and_intercept_equal_unpenalized_logistic_regression(outcomes):
    y, p = outcomes
    logit = np.log(p.clip(1e-6, 1 - 1e-6) / (1 - p.clip(1e-6, 1 - 1e-6)))
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(logit[:, None], y)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(reference.coef_[0, 0], abs=1e-4)
    assert intercept == pytest.approx(reference.intercept_[0], abs=1e-4)


def test_perfectly_calibrated_probabilities_have_slope_one_and_small_ece():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.5, 200_000)
    y = (rng.random(len(p)) < p).astype(int)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1, abs=0.03)
    assert intercept == pytest.approx(0, abs=0.05)
    assert expected_calibration_error(y, p) < 0.005


def test_ece_by_hand_on_equal_count_bins():
    # 20 rows, 10 bins of 2: bins alternate between a perfect fit and an error of 0.5.
    p = np.repeat(np.linspace(0.05, 0.95, 10), 2)
    y = np.array([1, 0] * 10)
    expected = np.mean([abs(0.5 - v) for v in np.linspace(0.05, 0.95, 10)])
    assert expected_calibration_error(y, p) == pytest.approx(expected)


def test_auc_of_a_perfect_and_an_inverted_score():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5


def test_one_outcome_class_is_a_clear_error():
    with pytest.raises(MetricError, match="all 3 outcomes are 0"):
        roc_auc([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(MetricError, match="missing"):
        brier([0, 1], [0.1, np.nan])


def test_score_metrics_ranks_by_the_rank_score_but_calibrates_the_probability(outcomes):
    y, p = outcomes
    rule_score = np.round(1000 * (1 - p))
    out = score_metrics(y, np.full(len(y), y.mean()), rank_score=-rule_score)
    assert out["auc"] == pytest.approx(roc_auc_score(y, -rule_score))
    assert out["brier"] == pytest.approx(brier_score_loss(y, np.full(len(y), y.mean())))


def test_isotonic_calibrator_from_json_predicts_as_sklearn(outcomes):
    y, p = outcomes
    clipped = p.clip(1e-4, 1 - 1e-4)
    margin = np.log(clipped / (1 - clipped))
    calibrator = Calibrator.from_json(Calibrator.fit("isotonic", margin, y).to_json())
    reference = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(margin, y)
    grid = np.linspace(margin.min() - 1, margin.max() + 1, 500)
    np.testing.assert_allclose(calibrator.predict(grid), reference.predict(grid), atol=1e-12)


def test_platt_calibrator_keeps_the_order_and_recovers_a_shift():
    rng = np.random.default_rng(4)
    true_logit = rng.normal(-2, 1.2, 50_000)
    y = (rng.random(len(true_logit)) < 1 / (1 + np.exp(-true_logit))).astype(int)
    shifted_margin = true_logit + 2.0
    calibrator = Calibrator.from_json(Calibrator.fit("platt", shifted_margin, y).to_json())
    assert calibrator.params["slope"] == pytest.approx(1, abs=0.05)
    assert calibrator.params["intercept"] == pytest.approx(-2, abs=0.1)
    probability = calibrator.predict(np.sort(shifted_margin))
    assert np.all(np.diff(probability) >= 0)


def test_unknown_calibrator_is_refused():
    with pytest.raises(CalibrationError, match="pickle"):
        Calibrator.from_json({"method": "pickle"})
