"""Train a challenger out of time, calibrate it, judge it against the rules and the champion, register it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from ml import dataset
from ml.baseline import baseline_rows, baseline_write, drift_bins, feature_windows
from ml.calibration import Calibrator
from ml.dataset import LABEL
from ml.evaluate import MetricError, roc_auc, score_metrics
from ml.features import FeatureError, FeatureSet, build_matrix, select_features
from ml.model_card import render_model_card
from ml.registry import (
    CALIBRATOR_FILE,
    CARD_FILE,
    CHALLENGER,
    CHAMPION,
    FEATURES_FILE,
    METRIC_NAMES,
    METRICS_FILE,
    MODEL_FILE,
    TRAINING_FILE,
    RegistryError,
    champion_row,
    load_model,
    new_version,
    plain_json,
    registry_write,
    sha256_bytes,
    trained_as_of,
    write_artifacts,
)
from ml.warehouse import Warehouse, open_warehouse

# Depth 3 at learning rate 0.1: on demo data at 20,000 x 24 it matched depth 4 at 0.05 within 0.0005
# validation AUC with 147 trees instead of 201, and per-row contributions (TreeSHAP, cost ~ trees x
# leaves x depth^2) cost 3.5x less to score.
XGB_PARAMS: dict[str, object] = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.1,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "max_cat_to_onehot": 8,
    "seed": 7,
}
MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50
# The validation AUC is computed after every VALID_EVERY-th round only (5, 10, ... trees): one evaluation
# sorts every validation row, and after each round it cost 60-90 % of the boosting's own CPU time at
# 20,000 x 24. Every 5 rounds kept 65 trees instead of 63 (synthetic mart) and 100 instead of 105 (demo),
# test AUC equal within 0.0004; every 10 kept 70 on the synthetic mart (BENCHMARKS.md, training).
# MAX_ROUNDS and EARLY_STOPPING_ROUNDS are multiples of it, so the last round trained is an evaluated one.
VALID_EVERY = 5
# Validation AUC differences below this are noise (its standard error is ~0.004 with 1,400 defaults);
# the fewest trees within it of the best score as well out of time and cost less to explain per row.
VALID_AUC_TOLERANCE = 0.001


@dataclass
class TrainResult:
    """What one training run produced and decided; the daily cycle prints it."""

    model_version: str
    status: str
    promoted: bool
    promotion_reason: str
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] | None
    truth: dict[str, float] | None
    champion_version: str | None
    champion_auc: float | None
    split: dict[str, dict]
    n_features: int
    best_iteration: int
    rounds_trained: int
    artifact_dir: str
    seconds: dict[str, float] = field(default_factory=dict)


def booster_params(feature_set: FeatureSet, train_y: np.ndarray, extra: dict | None = None) -> dict:
    """XGB_PARAMS plus what depends on the data: the monotone constraints and the class weight.

    Defaults are weighted by sqrt(non-defaults / defaults): at a 1-4 % default rate the full ratio
    (about 30) made validation AUC worse on demo data than the square root, which still keeps the rare
    class from being ignored; calibration restores the probabilities either way."""
    n_pos = float(np.sum(train_y))
    return {
        **XGB_PARAMS,
        **(extra or {}),
        "scale_pos_weight": float(np.sqrt((len(train_y) - n_pos) / n_pos)),
        "monotone_constraints": "(" + ",".join(str(d) for d in feature_set.monotone_constraints) + ")",
    }


def dmatrix(matrix: pd.DataFrame, label: np.ndarray | None = None, *, threads: int = 0) -> xgb.DMatrix:
    """XGBoost's input for a model matrix (scoring.features.build_matrix). Building one copies every value:
    training builds one for the training rows and one for the validation rows, and predicts the rest in
    place (`margins`). `threads` as settings.ml_threads (0 = all cores): on a shared machine the build costs
    a fifth less CPU on one thread than on two, and the matrix is the same."""
    return xgb.DMatrix(matrix, label=label, enable_categorical=True, nthread=threads if threads > 0 else None)


class ValidationAUC(xgb.callback.TrainingCallback):
    """Early stopping on the validation AUC (ml.evaluate.roc_auc of the margins), computed after every
    `every`-th round only: training stops at the first evaluated round `patience` or more rounds after the
    best evaluated one (the earliest of equal bests). `rounds` and `aucs` hold the evaluated curve.

    Every evaluated round that may still be the one kept (its AUC within `tolerance` of the best so far,
    see fewest_trees) keeps its validation margins and the margins of `dtrain` (the matrix being trained on)
    from XGBoost's prediction cache, which the boosting updates each round: both equal a fresh prediction
    with that many trees, so calibration and the baseline take them instead of predicting every row again."""

    def __init__(
        self, dvalid: xgb.DMatrix, dtrain: xgb.DMatrix, every: int, patience: int, tolerance: float
    ) -> None:
        super().__init__()
        self.dvalid, self.dtrain = dvalid, dtrain
        self.every, self.patience, self.tolerance = every, patience, tolerance
        self.labels = dvalid.get_label()
        self.rounds: list[int] = []
        self.aucs: list[float] = []
        # by number of trees: (validation margins, training margins), for the rounds still in reach
        self.candidates: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        trees = epoch + 1
        if trees % self.every:
            return False
        # XGBoost caches this matrix's margins: each evaluation adds only the trees built since the last.
        # Its features are the training matrix's (both from `dmatrix`), so they are not compared each time.
        margin = model.predict(self.dvalid, output_margin=True, validate_features=False)
        self.aucs.append(roc_auc(self.labels, margin))
        self.rounds.append(trees)
        floor = max(self.aucs) - self.tolerance
        auc_of = dict(zip(self.rounds, self.aucs, strict=True))
        # the best only rises, so a round below the floor now can never be the fewest within the tolerance
        self.candidates = {n: m for n, m in self.candidates.items() if auc_of[n] >= floor}
        if self.aucs[-1] >= floor:
            # read from the cache (~1 ms), not predicted
            cached = model.predict(self.dtrain, output_margin=True, validate_features=False)
            self.candidates[trees] = (margin, cached)
        return trees - self.rounds[int(np.argmax(self.aucs))] >= self.patience

    def fewest_trees(self) -> int:
        """The fewest trees, among the evaluated rounds, whose AUC is within `tolerance` of the best."""
        aucs = np.asarray(self.aucs)
        return self.rounds[int(np.argmax(aucs >= aucs.max() - self.tolerance))]


@dataclass
class FittedBooster:
    """What fit_booster returns: the kept trees, the parameters used, the number of rounds trained, and the
    kept trees' margins (float64) on the validation rows and on the training rows."""

    booster: xgb.Booster
    params: dict
    rounds_trained: int
    valid_margin: np.ndarray
    train_margin: np.ndarray


def fit_booster(
    dtrain: xgb.DMatrix,
    dvalid: xgb.DMatrix,
    feature_set: FeatureSet,
    extra_params: dict | None = None,
) -> FittedBooster:
    """Train with early stopping on the validation dates (both matrices labelled, see `dmatrix`), their AUC
    evaluated every VALID_EVERY rounds (see ValidationAUC), then keep the fewest trees, among the evaluated
    rounds, whose validation AUC is within VALID_AUC_TOLERANCE of the best evaluated one. Returns that booster
    (so the saved model, its margins and its contributions agree) with its margins on both matrices."""
    params = booster_params(feature_set, dtrain.get_label(), extra_params)
    validation = ValidationAUC(dvalid, dtrain, VALID_EVERY, EARLY_STOPPING_ROUNDS, VALID_AUC_TOLERANCE)
    booster = xgb.train(params, dtrain, num_boost_round=MAX_ROUNDS, callbacks=[validation])
    kept = validation.fewest_trees()
    valid_margin, train_margin = validation.candidates[kept]
    return FittedBooster(
        booster[:kept],
        params,
        booster.num_boosted_rounds(),
        valid_margin.astype(np.float64),
        train_margin.astype(np.float64),
    )


def margins(booster: xgb.Booster, matrix: pd.DataFrame) -> np.ndarray:
    """The booster's log-odds for each row of a model matrix (build_matrix), predicted in place: the same
    values as through a DMatrix (tested), without the copy of every value that building one makes."""
    return booster.inplace_predict(matrix, predict_type="margin").astype(np.float64)


def _baseline_metrics(warehouse: Warehouse, test: pd.DataFrame) -> dict | None:
    """The rule-based score judged on the same test rows (those that have one)."""
    start, end = dataset.OutOfTimeSplit.window(test)
    rules = dataset.load_rule_scores(warehouse, start, end)
    if rules is None or rules.empty:
        return None
    joined = test[["client_id", "feature_date", LABEL]].merge(
        rules, on=["client_id", "feature_date"], how="inner"
    )
    if "rule_probability" in joined:
        joined = joined[joined["rule_probability"].notna()]
        probability = joined["rule_probability"].to_numpy(dtype=np.float64)
    else:
        joined = joined[joined["rule_score"].notna()]
        # Without a probability, read the 0-1000 safety score as one, for calibration metrics only.
        probability = 1.0 - joined["rule_score"].to_numpy(dtype=np.float64) / 1000.0
    if joined.empty or joined[LABEL].nunique() < 2:
        return None
    # The rule score is higher-is-safer: its negation ranks by risk, with the score's own ties.
    rank = -joined["rule_score"].to_numpy(dtype=np.float64) if "rule_score" in joined else None
    out = score_metrics(joined[LABEL].to_numpy(), probability, rank_score=rank)
    out["coverage"] = len(joined) / len(test)
    return out


def _truth_metrics(truth: pd.DataFrame | None, test: pd.DataFrame, probability: np.ndarray) -> dict | None:
    """The generator's true probabilities on the test rows they cover: the best AUC achievable there."""
    if truth is None:
        return None
    scored = test[["client_id", "feature_date", LABEL]].assign(model_probability=probability)
    joined = scored.merge(truth, on=["client_id", "feature_date"], how="inner")
    joined = joined[joined["truth_probability"].notna()]
    if joined.empty or joined[LABEL].nunique() < 2:
        return None
    truth_auc = roc_auc(joined[LABEL], joined["truth_probability"])
    model_auc = roc_auc(joined[LABEL], joined["model_probability"])
    return {
        "n": len(joined),
        "coverage": len(joined) / len(test),
        "truth_auc": truth_auc,
        "model_auc": model_auc,
        "ratio": model_auc / truth_auc,
    }


def _champion_on_test(settings, warehouse: Warehouse, test: pd.DataFrame) -> tuple[dict | None, str | None]:
    """The champion's AUC on the challenger's test rows, or why it cannot be measured."""
    row = champion_row(warehouse)
    if row is None:
        return None, None
    try:
        champion = load_model(settings.registry_path, row["model_version"], row, threads=settings.ml_threads)
        probability = champion.calibrator.predict(
            margins(champion.booster, build_matrix(test, champion.features))
        )
        auc = roc_auc(test[LABEL], probability)
    except (RegistryError, FeatureError, MetricError) as exc:
        return {"model_version": row["model_version"], "auc": None}, str(exc)
    return {"model_version": row["model_version"], "auc": auc}, None


def _decide(settings, model_auc: float, champion: dict | None, problem: str | None) -> tuple[bool, str]:
    if champion is None:
        return True, "first model: champion by default"
    if problem is not None:
        return True, f"champion {champion['model_version']} cannot score the test rows ({problem}): replaced"
    gain = model_auc - champion["auc"]
    margin = settings.promotion_margin
    if gain > 0 and gain >= margin:
        return (
            True,
            f"beats champion {champion['model_version']} by {gain:+.4f} AUC (margin {margin}): promoted",
        )
    return (
        False,
        f"AUC {gain:+.4f} against champion {champion['model_version']} (margin {margin}): stays challenger",
    )


def train_model(
    settings,
    *,
    as_of: date | None = None,
    warehouse: Warehouse | None = None,
    truth: Path | pd.DataFrame | None = None,
) -> TrainResult:
    """Read `marts.ml_training_set`, train and calibrate out of time, evaluate on the latest matured dates
    against the rule-based score (and against `truth`, true probabilities of a demo export, when given:
    see `dataset.load_ground_truth`), write the artifacts, the training rows' reference distributions
    (ml/baseline.py) and the registry row, and promote the model if it beats the champion by
    `settings.promotion_margin`."""
    warehouse = warehouse or open_warehouse(settings)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    # read first: a wrong truth path fails before the fit, not after it
    true_probabilities = None if truth is None else dataset.load_ground_truth(truth)
    # The reads of each phase share one connection (an open attaches the file and reads its catalog); none
    # is held during the fit.
    with warehouse.session():
        frame = dataset.load_training_set(warehouse, as_of=as_of)
    split = dataset.split_out_of_time(
        frame, test_share=settings.ml_test_share, valid_share=settings.ml_valid_share
    )
    feature_set = select_features(split.train)
    train_x, valid_x, test_x = (build_matrix(p, feature_set) for p in (split.train, split.valid, split.test))
    y_train, y_valid, y_test = (p[LABEL].to_numpy() for p in (split.train, split.valid, split.test))
    seconds["load"] = time.perf_counter() - clock

    clock = time.perf_counter()
    runtime = {"nthread": settings.ml_threads} if settings.ml_threads > 0 else {}
    dtrain = dmatrix(train_x, y_train, threads=settings.ml_threads)
    dvalid = dmatrix(valid_x, y_valid, threads=settings.ml_threads)
    fit = fit_booster(dtrain, dvalid, feature_set, runtime)
    booster, params, rounds_trained = fit.booster, fit.params, fit.rounds_trained
    seconds["fit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    calibrator = Calibrator.fit(settings.ml_calibration, fit.valid_margin, y_valid)
    test_probability = calibrator.predict(margins(booster, test_x))
    model_metrics = score_metrics(y_test, test_probability)
    with warehouse.session():
        baseline = _baseline_metrics(warehouse, split.test)
        champion, problem = _champion_on_test(settings, warehouse, split.test)
        # what registering reads, on the same connection
        latest_date = None if as_of else dataset.latest_feature_date(warehouse)
        bins, feature_days, history_start = (
            drift_bins(warehouse),
            feature_windows(warehouse),
            dataset.first_feature_date(warehouse),
        )
    truth_metrics = _truth_metrics(true_probabilities, split.test, test_probability)
    promoted, reason = _decide(settings, model_metrics["auc"], champion, problem)
    seconds["evaluate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    trained_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    data_as_of = as_of or latest_date or trained_at.date()
    model_bytes = bytes(booster.save_raw(raw_format="json"))
    version = new_version(settings.registry_path, trained_at, sha256_bytes(model_bytes))
    windows = split.summary()
    metrics = {"model": model_metrics, "baseline": baseline, "truth": truth_metrics, "champion": champion}
    params = {k: v for k, v in params.items() if k not in runtime}
    training = {
        "model_version": version,
        "trained_at": trained_at.isoformat(),
        "as_of_date": data_as_of.isoformat(),
        "split": windows,
        "params": params,
        "best_iteration": booster.num_boosted_rounds() - 1,
        "rounds_trained": rounds_trained,
        "valid_auc_every": VALID_EVERY,
        "calibration": settings.ml_calibration,
        "features_sha256": feature_set.sha256(),
        "model_sha256": sha256_bytes(model_bytes),
    }
    card = render_model_card(
        training
        | {
            "status": CHAMPION if promoted else CHALLENGER,
            "metrics": metrics,
            "features": feature_set.to_json(),
            "promotion_reason": reason,
        }
    )
    folder = write_artifacts(
        settings.registry_path,
        version,
        {
            MODEL_FILE: model_bytes,
            CALIBRATOR_FILE: calibrator.to_json(),
            FEATURES_FILE: feature_set.to_json(),
            TRAINING_FILE: training,
            METRICS_FILE: metrics,
            CARD_FILE: card,
        },
    )
    train_margin = fit.train_margin
    reference = baseline_rows(
        split.train,
        feature_set,
        matrix=train_x,
        probability=calibrator.predict(train_margin),
        margin=train_margin,
        model_version=version,
        bins=bins,
        created_at=trained_at,
        windows=feature_days,
        history_start=history_start,
    )
    # The baseline and the registry rows in one transaction: a registered model always has the distributions
    # it is monitored against, and a training killed before it registered leaves no rows (only its folder,
    # which nothing reads: the registry table names the versions).
    row = _registry_row(training, windows, metrics, feature_set, reason, str(folder.resolve()), trained_at)
    with warehouse.session():
        warehouse.replace_rows(
            [
                baseline_write(reference, version),
                registry_write(warehouse, row, promote=promoted, now=trained_at),
            ]
        )
    seconds["register"] = time.perf_counter() - clock

    return TrainResult(
        model_version=version,
        status=CHAMPION if promoted else CHALLENGER,
        promoted=promoted,
        promotion_reason=reason,
        metrics=model_metrics,
        baseline_metrics=baseline,
        truth=truth_metrics,
        champion_version=champion["model_version"] if champion else None,
        champion_auc=champion["auc"] if champion else None,
        split=windows,
        n_features=len(feature_set.features),
        best_iteration=training["best_iteration"],
        rounds_trained=rounds_trained,
        artifact_dir=str(folder),
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )


def _registry_row(
    training: dict,
    windows: dict,
    metrics: dict,
    feature_set: FeatureSet,
    reason: str,
    artifact_dir: str,
    trained_at: datetime,
) -> dict:
    model, baseline, truth, champion = (metrics[k] for k in ("model", "baseline", "truth", "champion"))
    row: dict[str, object] = {
        "model_version": training["model_version"],
        "trained_at": trained_at,
        "as_of_date": training["as_of_date"],
        "n_features": len(feature_set.features),
        "best_iteration": training["best_iteration"],
        "calibration": training["calibration"],
        "truth_auc": truth["truth_auc"] if truth else None,
        "truth_model_auc": truth["model_auc"] if truth else None,
        "truth_auc_ratio": truth["ratio"] if truth else None,
        "truth_n_rows": truth["n"] if truth else None,
        "compared_with": champion["model_version"] if champion else None,
        "champion_test_auc": champion["auc"] if champion else None,
        "promotion_reason": reason,
        "features_sha256": training["features_sha256"],
        "model_sha256": training["model_sha256"],
        "artifact_dir": artifact_dir,
        "metrics_json": json.dumps(plain_json(metrics), allow_nan=False, sort_keys=True),
    }
    for part, prefix in (("train", "train"), ("valid", "valid"), ("test", "test")):
        row[f"{prefix}_start"] = windows[part]["start"]
        row[f"{prefix}_end"] = windows[part]["end"]
        row[f"n_{prefix}"] = windows[part]["rows"]
    for name in METRIC_NAMES:
        row[f"test_{name}"] = model[name]
        row[f"baseline_{name}"] = baseline[name] if baseline else None
    return row


def needs_training(settings, as_of: date) -> bool:
    """True when there is no champion, or the champion's data is `retrain_interval_days` or more older
    than `as_of` (business dates, so a backfill retrains on the same schedule as daily runs) and no model
    was trained on `as_of`'s data yet."""
    from ml.registry import champion_info

    champion = champion_info(settings)
    if champion is None:
        return True
    if as_of - champion["as_of_date"] < timedelta(days=settings.retrain_interval_days):
        return False
    # A challenger trained on this very day's data lost to the champion: a re-run of the day (after a crash,
    # or by hand) would train the same model again and register it twice. It is registered once.
    return not trained_as_of(open_warehouse(settings), as_of)
