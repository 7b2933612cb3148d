"""A small, learnable stand-in for the feature marts, with the marts' column names, in a real DuckDB file.

Each client has a latent risk that drifts month to month; the features are noisy views of it, the label
is drawn from the true probability, which is also written as the demo ground truth.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

FEATURE_COLUMNS = (
    "recency_weighted_payment_score_90d",
    "dpd_mean_6m",
    "utilization_pct",
    "bureau_score",
    "tenure_months",
    "orders_count_90d",
    "segment",
)


def month_ends(n: int, last: date = date(2025, 12, 31)) -> list[pd.Timestamp]:
    return list(pd.date_range(end=pd.Timestamp(last), periods=n, freq="ME"))


def make_client_features(
    n_clients: int, n_dates: int, seed: int = 11, extra_features: int = 0
) -> pd.DataFrame:
    """Every client at every month end: features, the true probability and a drawn label. `extra_features`
    adds weak or pure-noise numeric columns, to reach the real mart's width in benchmarks."""
    rng = np.random.default_rng(seed)
    dates = month_ends(n_dates)
    latent = rng.normal(0, 1, n_clients)
    start_tenure = rng.integers(1, 60, n_clients)
    frames = []
    for step, day in enumerate(dates):
        latent = 0.9 * latent + np.sqrt(1 - 0.9**2) * rng.normal(0, 1, n_clients)
        tenure = start_tenure + step
        truth = 1 / (1 + np.exp(-(-3.0 + 1.4 * latent + 0.6 * (tenure < 6))))
        dpd = np.clip(8 + 10 * latent + rng.normal(0, 6, n_clients), 0, None)
        extra = {
            # Every other extra column is a weak view of the risk, the rest pure noise.
            f"synthetic_feature_{k:02d}": (0.3 * latent if k % 2 else 0) + rng.normal(0, 1, n_clients)
            for k in range(extra_features)
        }
        frames.append(
            pd.DataFrame(
                {
                    # Zero-padded ids: the text type must survive every step.
                    "client_id": [f"C{i:05d}" for i in range(n_clients)],
                    "feature_date": day,
                    "recency_weighted_payment_score_90d": np.clip(
                        70 - 15 * latent + rng.normal(0, 8, n_clients), 0, 100
                    ),
                    "dpd_mean_6m": dpd,
                    "utilization_pct": np.clip(55 + 18 * latent + rng.normal(0, 15, n_clients), 0, 150),
                    "bureau_score": np.clip(650 - 80 * latent + rng.normal(0, 90, n_clients), 0, 1000),
                    "tenure_months": tenure.astype("int32"),
                    "orders_count_90d": rng.poisson(4, n_clients).astype("int32"),
                    "segment": np.where(tenure < 6, "new", "established"),
                    "pd_true": truth,
                    "default_next_60d": (rng.random(n_clients) < truth).astype("int32"),
                    **extra,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    # Missing values as the mart has them: clients without a bureau report.
    frame.loc[rng.random(len(frame)) < 0.05, "bureau_score"] = np.nan
    return frame


def write_marts(path: Path, frame: pd.DataFrame, *, truth_dir: Path | None = None) -> None:
    """Create marts.ml_training_set, marts.fct_client_features and marts.fct_rule_scores from `frame`."""
    rng = np.random.default_rng(5)
    # The feature mart also holds clients already in default; the training mart never does.
    in_default = rng.random(len(frame)) < 0.05
    features = frame.drop(columns=["pd_true", "default_next_60d"]).assign(
        in_default_at_feature_date=in_default
    )
    training = (
        frame[~in_default]
        .drop(columns=["pd_true"])
        .assign(label_matured=True, in_default_at_feature_date=False)
    )
    # A weaker, rules-like view of the same risk: the baseline the model must beat.
    rule_logit = (
        -3.0 + 0.04 * frame["dpd_mean_6m"] - 0.01 * (frame["recency_weighted_payment_score_90d"] - 70)
    )
    rule_logit = rule_logit + rng.normal(0, 1.0, len(frame))
    rule_probability = 1 / (1 + np.exp(-rule_logit))
    rules = pd.DataFrame(
        {
            "client_id": frame["client_id"],
            "feature_date": frame["feature_date"],
            "rule_score": np.round(1000 * (1 - rule_probability)).astype("int32"),
            "rule_probability": rule_probability,
        }
    )
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        for name, table in (
            ("ml_training_set", training),
            ("fct_client_features", features),
            ("fct_rule_scores", rules),
        ):
            con.register("incoming", table)
            con.execute(f"create or replace table marts.{name} as select * from incoming")
            con.unregister("incoming")
        con.execute("alter table marts.ml_training_set alter feature_date type date")
        con.execute("alter table marts.fct_client_features alter feature_date type date")
        con.execute("alter table marts.fct_rule_scores alter feature_date type date")
    finally:
        con.close()
    if truth_dir is not None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        frame.assign(as_of_date=frame["feature_date"].dt.date)[["client_id", "as_of_date", "pd_true"]].rename(
            columns={"pd_true": "pd_next_60d"}
        ).to_csv(truth_dir / "client_month_pd.csv", index=False)
