"""Discrimination and calibration metrics of a probability against 0/1 outcomes.

Written out in numpy (each is a few lines) so that each formula is on the page; the tests check them
against scikit-learn and scipy on the same data.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 10


class MetricError(ValueError):
    """A metric is undefined for these data (for example a single outcome class)."""


def _arrays(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise MetricError(f"outcomes and scores must be 1-D of one length, got {y.shape} and {s.shape}")
    if np.isnan(s).any():
        raise MetricError("scores contain missing values")
    if not np.isin(y, (0.0, 1.0)).all():
        raise MetricError("outcomes must be 0 or 1")
    if y.min() == y.max():
        raise MetricError(f"all {len(y)} outcomes are {int(y[0])}: discrimination is undefined")
    return y, s


def roc_auc(y_true, score) -> float:
    """Probability that a random default scores above a random non-default (ties count half): the
    Mann-Whitney statistic from average ranks. A run of tied scores at sorted positions start .. end - 1
    shares the rank (start + end + 1) / 2, found for each default by a binary search of its score in the
    sorted scores: one sort of all rows, then a search per default (training evaluates this on ~100,000
    validation rows every few rounds). Every rank is a half-integer, so their sum is exact in any order."""
    y, s = _arrays(y_true, score)
    sorted_s = np.sort(s)
    defaults = s[y == 1.0]
    starts = np.searchsorted(sorted_s, defaults, side="left")
    ends = np.searchsorted(sorted_s, defaults, side="right")
    n_pos = float(len(defaults))
    n_neg = len(y) - n_pos
    rank_sum = float(np.sum((starts + ends + 1) / 2.0))
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def gini(y_true, score) -> float:
    return 2 * roc_auc(y_true, score) - 1


def _curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct threshold, highest score first."""
    order = np.argsort(-s, kind="mergesort")
    y_sorted, s_sorted = y[order], s[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tp = np.cumsum(y_sorted)[last_of_run]
    fp = (last_of_run + 1) - tp
    return tp, fp


def ks_statistic(y_true, score) -> float:
    """Largest gap between the score distributions of defaults and non-defaults (max TPR - FPR)."""
    y, s = _arrays(y_true, score)
    tp, fp = _curve(y, s)
    return float(np.max(np.abs(tp / y.sum() - fp / (len(y) - y.sum()))))


def pr_auc(y_true, score) -> float:
    """Average precision: precision at each threshold weighted by the recall it adds."""
    y, s = _arrays(y_true, score)
    tp, fp = _curve(y, s)
    precision = tp / (tp + fp)
    recall = tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(y_true, probability) -> float:
    y, p = _arrays(y_true, probability)
    return float(np.mean((p - y) ** 2))


def expected_calibration_error(y_true, probability, bins: int = ECE_BINS) -> float:
    """Row-weighted mean |observed rate - mean probability| over `bins` equal-count bins of the sorted
    probabilities (ties split by a stable sort, so the bins are always equal in size)."""
    y, p = _arrays(y_true, probability)
    order = np.argsort(p, kind="mergesort")
    total = 0.0
    for part in np.array_split(order, bins):
        if len(part):
            total += len(part) * abs(y[part].mean() - p[part].mean())
    return float(total / len(y))


def logistic_fit(x, y, weights=None, *, max_iter: int = 100) -> tuple[float, float]:
    """Unpenalized logistic regression of y on one regressor by Newton's method: (slope, intercept)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    design = np.column_stack([x, np.ones_like(x)])
    beta = np.array([1.0, 0.0]) if np.ptp(x) > 0 else np.array([0.0, 0.0])
    for _ in range(max_iter):
        mu = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -35, 35)))
        gradient = design.T @ (w * (y - mu))
        hessian = (design * (w * mu * (1 - mu))[:, None]).T @ design + np.eye(2) * 1e-9
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def calibration_slope_intercept(y_true, probability) -> tuple[float, float]:
    """Logistic recalibration of the outcomes on logit(p): slope 1 and intercept 0 are perfect."""
    y, p = _arrays(y_true, probability)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return logistic_fit(np.log(clipped / (1 - clipped)), y)


def score_metrics(y_true, probability, rank_score=None) -> dict[str, float]:
    """Every metric of one scorer on one set of rows. `rank_score` (higher = riskier) ranks the rows
    when it differs from the probability; calibration metrics always use the probability."""
    ranking = probability if rank_score is None else rank_score
    slope, intercept = calibration_slope_intercept(y_true, probability)
    return {
        "n": int(len(y_true)),
        "default_rate": float(np.mean(y_true)),
        "mean_probability": float(np.mean(probability)),
        "auc": roc_auc(y_true, ranking),
        "gini": gini(y_true, ranking),
        "ks": ks_statistic(y_true, ranking),
        "pr_auc": pr_auc(y_true, ranking),
        "brier": brier(y_true, probability),
        "ece": expected_calibration_error(y_true, probability),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
    }
