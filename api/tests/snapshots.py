"""The published bundles the API tests and the benchmark serve: the one place that makes them.

`build_published_snapshot` writes synthetic rows of marts.fct_client_scores into a throwaway DuckDB
warehouse, beside the project's seeds and the models applicant scoring reads as dbt builds them, and publishes it with the pipeline's own
publisher (riskmart.publish) and, with a card, a small real champion in a registry folder: the bundle the
API reads is the real one. When the scoring pipeline can build a small demo warehouse in test time, this
is the function to switch to it.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from riskmart.publish import APPLICANT_TABLES, SCORED_MART, SEEDS_SCHEMA, PublishResult, publish_bundle

# Ids are opaque strings: accents, dashes, underscores, spaces, a literal percent sign, a dot.
ODD_CLIENT_IDS = ("cliente_ñandú-01", "Émpresa Ü 42", "a b", "x%2Fy", "día_1.5", "CLI-000")
FEATURES = (
    "max_days_past_due_6m",
    "utilization_ratio_avg_3m",
    "bureau_score",
    "external_debt",
    "order_count_30d",
)
REASONS = (
    "Payments late in recent months",
    "High use of the credit line",
    "Low external credit score",
    "High debt with other lenders",
    "Few recent orders",
)
SCALE = {"base": 600, "odds": 50, "pdo": 20, "min": 300, "max": 850}
BANDS = ((750, "A"), (700, "B"), (650, "C"), (600, "D"), (550, "E"), (300, "F"))


def nested_reasons(row: dict) -> list[dict]:
    """A scored-mart row's reasons as the API nests them: rank, reason, value and points, in rank order."""
    return [
        {
            "rank": k,
            "reason": row[f"reason_{k}"],
            "value": row[f"reason_{k}_value"],
            "points": row[f"reason_{k}_points"],
        }
        for k in (1, 2, 3)
        if row[f"reason_{k}"] is not None
    ]


def client_ids(n_clients: int) -> list[str]:
    """`n_clients` ids: the odd ones first, then plain ones."""
    plain = [f"C{k:07d}" for k in range(max(0, n_clients - len(ODD_CLIENT_IDS)))]
    return [*ODD_CLIENT_IDS[:n_clients], *plain]


def _score(p: np.ndarray) -> np.ndarray:
    factor = SCALE["pdo"] / math.log(2)
    offset = SCALE["base"] - factor * math.log(SCALE["odds"])
    q = np.clip(p, 1e-9, 1 - 1e-9)
    return np.clip(np.round(offset + factor * np.log((1 - q) / q)), SCALE["min"], SCALE["max"]).astype(
        np.int64
    )


def synthetic_scores(
    n_clients: int, n_days: int, last_date: date = date(2025, 6, 30), seed: int = 7, shift: float = 0.0
) -> pa.Table:
    """A scored mart of `n_clients` x `n_days` rows (every client every day), deterministic per seed.

    `shift` moves every probability (on the log-odds scale) so two snapshots differ in every row.
    The last client is scored on the earliest day only (a client that left), the second to last by rules.
    """
    rng = np.random.default_rng(seed)
    ids = np.array(client_ids(n_clients), dtype=object)
    days = np.array([last_date - timedelta(days=d) for d in range(n_days)][::-1], dtype="datetime64[D]")
    client = np.repeat(np.arange(n_clients), n_days)
    day = np.tile(np.arange(n_days), n_clients)
    base = rng.normal(-3.2, 1.1, n_clients)[client] + rng.normal(0, 0.15, client.size) + shift
    model_p = 1 / (1 + np.exp(-base))
    rule_p = 1 / (1 + np.exp(-(base + rng.normal(0, 0.4, client.size))))
    rules_only = client == n_clients - 2
    segment = np.where(client % 3 == 0, "new", "established")
    weight = np.where(segment == "new", 0.3, 0.85)
    pd_ = np.where(rules_only, rule_p, weight * model_p + (1 - weight) * rule_p)
    score = _score(pd_)
    band = np.select([score >= lo for lo, _ in BANDS], [b for _, b in BANDS], "F")
    risk = np.where(pd_ >= 0.08, "HIGH", np.where(pd_ >= 0.03, "MEDIUM", "LOW"))
    action = np.where(
        pd_ >= 0.25,
        "FREEZE",
        np.where(
            pd_ >= 0.08,
            "REDUCE_LIMIT",
            np.where((pd_ < 0.03) & (client % 4 == 0), "INCREASE_LIMIT", "MAINTAIN"),
        ),
    )
    columns: dict[str, object] = {
        "client_id": ids[client],
        "score_date": days[day],
        "probability_of_default": pd_,
        "model_probability": pa.array(model_p, mask=rules_only),
        "rule_probability": rule_p,
        "score": score,
        "score_band": band,
        "rule_score": np.clip(np.round(1000 - 300 * np.log1p(rule_p * 20)), 0, 1000).astype(np.int64),
        "segment": segment,
        "risk_level": risk,
        "recommended_action": action,
    }
    for k in (1, 2, 3):
        picks = rng.integers(0, len(REASONS), client.size)
        columns[f"reason_{k}"] = np.array(REASONS)[picks]
        # Model reasons carry the feature's value as text; rule reasons carry none.
        values = np.round(rng.gamma(2.0, 10.0, client.size), 3).astype(str)
        columns[f"reason_{k}_value"] = pa.array(values, mask=rules_only)
        columns[f"reason_{k}_points"] = np.round(1 + rng.gamma(2.0, 4.0, client.size) / k).astype(np.int64)
    columns["model_version"] = pa.array(np.full(client.size, model_card()["model_version"]), mask=rules_only)
    columns["scored_by"] = np.where(rules_only, "rules", "model")
    table = pa.table({name: pa.array(values) for name, values in columns.items()})
    gone = (client == n_clients - 1) & (day > 0)
    return table.filter(pa.array(~gone))


def model_card(version: str = "20250601T020000Z-1a2b3c4d") -> dict:
    """A card as the pipeline publishes it (ml.registry.champion_info)."""
    return {
        "model_version": version,
        "trained_at": "2025-06-01 02:00:00",  # str() of a naive UTC datetime, as published
        "as_of_date": "2025-05-31",
        "status": "champion",
        "test_window": ["2025-02-01", "2025-03-31"],
        "metrics": {"auc": 0.81, "gini": 0.62, "ks": 0.47, "brier": 0.041},
        "baseline_metrics": {"auc": 0.74, "gini": 0.48, "ks": 0.38, "brier": 0.046},
        "truth_auc": 0.84,
        "truth_auc_ratio": 0.96,
        "artifact_dir": f"/srv/riskmart/models/{version}",
    }


def write_model_artifacts(registry_dir: Path, card: dict, seed: int = 5) -> Path:
    """A real, small champion for the card's version in the registry layout (ml.registry): XGBoost on the
    applicant feature row's columns, trained on random rows, with a Platt calibrator."""
    import xgboost as xgb

    from ml.calibration import Calibrator
    from ml.features import CATEGORICAL, NUMERIC, Feature, FeatureSet, build_matrix, monotone_direction
    from ml.registry import sha256_bytes, write_artifacts

    categorical = {
        "industry": ("agriculture", "construction", "retail", "services"),
        "segment": ("established", "new"),
    }
    numeric = ["tenure_months", "credit_limit", "outstanding", "utilization_ratio_now"]
    numeric += (
        no_history_columns()
    )  # every history feature (bureau included), as dbt's no-history row has them
    features = FeatureSet(
        tuple(Feature(name, CATEGORICAL, 0, levels) for name, levels in categorical.items())
        + tuple(Feature(name, NUMERIC, monotone_direction(name)) for name in numeric)
    )
    rng = np.random.default_rng(seed)
    n = 600
    frame = pd.DataFrame({name: rng.choice(levels, n) for name, levels in categorical.items()})
    for name in numeric:
        frame[name] = np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2.0, 50.0, n))
    frame["bureau_score"] = rng.uniform(300, 900, n)
    logit = -3 + (700 - frame["bureau_score"]) / 120 + (frame["industry"] == "construction") * 0.8
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    matrix = build_matrix(frame, features)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": seed,
              "monotone_constraints": "(" + ",".join(str(m) for m in features.monotone_constraints) + ")"}  # fmt: skip
    booster = xgb.train(params, xgb.DMatrix(matrix, label=label, enable_categorical=True), num_boost_round=20)
    margin = booster.predict(xgb.DMatrix(matrix, enable_categorical=True), output_margin=True)
    calibrator = Calibrator.fit("platt", margin, label)
    model_bytes = bytes(booster.save_raw(raw_format="json"))
    split = {
        "train": {"start": "2024-06-30", "end": "2024-12-31", "dates": 185, "rows": 9000, "defaults": 410},
        "valid": {"start": "2025-01-01", "end": "2025-01-31", "dates": 31, "rows": 1500, "defaults": 70},
        "test": {"start": "2025-02-01", "end": "2025-03-31", "dates": 59, "rows": 2900, "defaults": 131},
    }
    training = {
        "model_version": card["model_version"],
        "split": split,
        "features_sha256": features.sha256(),
        "model_sha256": sha256_bytes(model_bytes),
    }
    return write_artifacts(
        registry_dir,
        card["model_version"],
        {
            "model.json": model_bytes,
            "calibrator.json": calibrator.to_json(),
            "features.json": features.to_json(),
            "training.json": training,
            "metrics.json": {"model": card["metrics"]},
            "model_card.md": f"# Model card: {card['model_version']} (test model)\n",
        },
    )


# The models a bundle carries besides the scored mart that need nothing but the seeds: built by dbt for it.
SEED_ONLY_MODELS = ("int_no_history_features", "applicant_scoring_query")


# Set by the test run (conftest.py): the folder where the run's processes share one seeded warehouse.
SHARED_SEEDED_WAREHOUSE = "RISKMART_TEST_SEEDED_WAREHOUSE_DIR"


@functools.cache
def seeded_warehouse() -> Path:
    """A warehouse holding the project's seeds and the models applicant scoring reads from the bundle (the
    no-history row, the scoring query), built by dbt once per test run (the first process to ask builds it in
    the folder SHARED_SEEDED_WAREHOUSE names), or once per process elsewhere (benchmarks); read-only."""
    shared = os.environ.get(SHARED_SEEDED_WAREHOUSE)
    if not shared:
        return _build_seeded_warehouse(Path(tempfile.mkdtemp(prefix="riskmart-seeds-")))
    from conftest import exclusive

    folder = Path(shared)
    folder.mkdir(parents=True, exist_ok=True)
    built = folder / "seeded"
    with exclusive(folder / "build.lock"):
        if not built.is_dir():
            staging = folder / f"building-{os.getpid()}"
            _build_seeded_warehouse(staging)
            staging.rename(built)
    return built / "seeds.duckdb"


def _build_seeded_warehouse(folder: Path) -> Path:
    from riskmart.dbt import run_dbt
    from riskmart.settings import Settings

    settings = Settings(warehouse=folder / "seeds.duckdb")
    run_dbt(settings, ["seed"], quiet=True)
    run_dbt(settings, ["run", "--select", *SEED_ONLY_MODELS], quiet=True)
    return settings.warehouse


@functools.cache
def no_history_columns() -> list[str]:
    """The columns of dbt's no-history feature row: every history feature of the feature mart."""
    with duckdb.connect(str(seeded_warehouse()), read_only=True) as con:
        return [r[0] for r in con.execute("describe intermediate.int_no_history_features").fetchall()]


def build_published_snapshot(
    publish_dir: Path,
    scores: pa.Table,
    card: dict | None,
    workdir: Path | None = None,
    registry_dir: Path | None = None,
) -> PublishResult:
    """Publish `scores` as the pipeline does: a warehouse holding marts.fct_client_scores and the seeds,
    then the publisher. With a card, its model comes from `registry_dir` (default `<workdir>/models`),
    written there by `write_model_artifacts` when that folder lacks it."""
    workdir = workdir or publish_dir.parent
    workdir.mkdir(parents=True, exist_ok=True)
    registry_dir = registry_dir or workdir / "models"
    if card is not None and not (registry_dir / card["model_version"]).is_dir():
        write_model_artifacts(registry_dir, card)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        warehouse = Path(tmp) / "warehouse.duckdb"
        with duckdb.connect(str(warehouse)) as con:
            con.execute("create schema marts")
            con.register("scores_in", scores)
            con.execute("create table marts.fct_client_scores as select * from scores_in")
            con.execute(f"attach '{seeded_warehouse()}' as seeded (read_only)")
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables where table_catalog = 'seeded'"
                " and table_schema in (?, 'intermediate', 'marts')",
                [SEEDS_SCHEMA],
            ).fetchall():
                con.execute(f"create schema if not exists {schema}")
                con.execute(f"create table {schema}.{name} as select * from seeded.{schema}.{name}")
            con.execute("detach seeded")
        # what the API reads: the scored mart and the applicant tables (the dashboard's marts are not built here)
        return publish_bundle(
            warehouse, publish_dir, card, registry_path=registry_dir, tables=(SCORED_MART, *APPLICANT_TABLES)
        )
