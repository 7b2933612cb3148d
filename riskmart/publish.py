"""Publish what readers that must never hold the warehouse file need (architecture.md): one bundle.

A bundle (layout: `bundle.layout`) holds the published marts (PUBLISHED_TABLES; `scores` is the scored
mart), the champion's card and files copied from the model registry, and every dbt seed as the warehouse
built it. `bundle.BundleWriter` writes it under a temporary name, moves it into place and swaps CURRENT
last, so a reader sees the old bundle or the new one, never half of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bundle import CURRENT_FILE, MODEL_CARD_FILE, MODEL_DIR, SCORES_TABLE, BundleWriter
from bundle.layout import (
    KEEP_BUNDLES,
    NO_HISTORY_FEATURES_TABLE,
    SCORING_QUERY_TABLE,
    seed_file,
    table_file,
)
from ml.warehouse import connect_warehouse

# The schema dbt builds the seeds in (dbt_project.yml: seeds +schema).
SEEDS_SCHEMA = "seeds"
# Files of a model's registry folder (ml/registry.py) a bundle carries: what scoring an applicant needs (the
# model, its calibrator, its feature list) and what its card shows (training windows, metrics).
MODEL_FILES = ("model.json", "calibrator.json", "features.json", "training.json", "metrics.json")
MODEL_FILES_REQUIRED = ("model.json", "calibrator.json", "features.json")


@dataclass(frozen=True)
class PublishedTable:
    """A mart the bundle carries as `<name>.parquet`, rows in `order_by` order."""

    name: str
    relation: str
    order_by: str


# What applicant scoring runs: the no-history feature row and the scoring marts' macros rendered for it.
APPLICANT_TABLES: tuple[PublishedTable, ...] = (
    PublishedTable(NO_HISTORY_FEATURES_TABLE, "intermediate.int_no_history_features", "all"),
    PublishedTable(SCORING_QUERY_TABLE, "marts.applicant_scoring_query", "step"),
)
# The scored mart: what the score API reads (and the first table of every bundle).
SCORED_MART = PublishedTable(SCORES_TABLE, "marts.fct_client_scores", "score_date, client_id")
# What the risk dashboard reads beside the scored mart: the monitoring marts, the clients' balance history and
# the model registry's rows without their artifact folders. The dashboard's exposure in
# models/marts/_marts__exposures.yml lists these relations and the scored mart.
DASHBOARD_TABLES: tuple[PublishedTable, ...] = (
    PublishedTable("client_history", "marts.fct_client_history", "client_id, feature_date"),
    PublishedTable("mon_feature_drift", "marts.mon_feature_drift", "feature_date, feature"),
    PublishedTable("mon_feature_bins", "marts.mon_feature_bins", "feature_date, feature, bin_index"),
    PublishedTable("mon_score_drift", "marts.mon_score_drift", "score_date, score_variable"),
    PublishedTable("mon_score_mix", "marts.mon_score_mix", "score_date, dimension, level_name"),
    PublishedTable(
        "mon_model_performance", "marts.mon_model_performance", "cohort_grain, cohort_start, scorer"
    ),
    PublishedTable("mon_model_calibration", "marts.mon_model_calibration", "score_date, scorer, decile"),
    PublishedTable("mon_alerts", "marts.mon_alerts", "alert_date, alert_type, subject"),
    PublishedTable("model_registry", "staging.stg_ml__model_registry", "trained_at, model_version"),
)
# Every mart a bundle carries: the scored mart first, the dashboard's, then what applicant scoring runs.
PUBLISHED_TABLES: tuple[PublishedTable, ...] = (SCORED_MART, *DASHBOARD_TABLES, *APPLICANT_TABLES)


class PublishError(RuntimeError):
    """The bundle cannot be written as asked; nothing was published (the previous bundle stays current)."""


@dataclass(frozen=True)
class PublishResult:
    path: Path  # the bundle's folder
    rows: int  # rows of the scored mart
    score_dates: int
    latest_score_date: str | None

    @property
    def scores_path(self) -> Path:
        return self.path / table_file(SCORES_TABLE)


def current_bundle_path(publish_dir: Path) -> Path | None:
    """The bundle folder CURRENT names, or None when nothing was published yet."""
    pointer = publish_dir / CURRENT_FILE
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return publish_dir / name if name else None


def current_snapshot(publish_dir: Path) -> Path | None:
    """The scored mart (parquet) of the current bundle, or None when nothing was published yet."""
    bundle = current_bundle_path(publish_dir)
    return None if bundle is None else bundle / table_file(SCORES_TABLE)


def publish_bundle(
    warehouse: Path,
    publish_dir: Path,
    model_card: dict | None,
    *,
    registry_path: Path | None,
    keep: int = KEEP_BUNDLES,
    tables: tuple[PublishedTable, ...] = PUBLISHED_TABLES,
) -> PublishResult:
    """Write a new bundle from the warehouse (and, with a champion, its registry folder), then swap
    CURRENT to it. `model_card` None publishes a bundle scored by the rules alone."""
    card = None if model_card is None else _complete_card(model_card, registry_path)
    # Opened as dbt opens it (attached as `riskmart`); dbt releases the file after each of its commands.
    with connect_warehouse(warehouse) as con:
        rows, dates, latest = con.execute(
            f"select count(*), count(distinct score_date), max(score_date) from {SCORED_MART.relation}"  # noqa: S608
        ).fetchone()
        score_date = str(latest) if latest else None
        with BundleWriter(publish_dir, score_date, keep=keep) as out:
            table_rows = {}
            for table in tables:
                _require_relation(con, table)
                count = con.execute(f"select count(*) from {table.relation}").fetchone()[0]  # noqa: S608
                con.execute(
                    f"copy (select * from {table.relation} order by {table.order_by}) "  # noqa: S608
                    "to ? (format parquet, compression zstd)",
                    [str(out.path(table_file(table.name)))],
                )
                table_rows[table.name] = {"file": table_file(table.name), "rows": int(count)}
            seeds = {}
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = current_database() and table_schema = ? order by 1",
                [SEEDS_SCHEMA],
            ).fetchall():
                count = con.execute(f'select count(*) from {SEEDS_SCHEMA}."{name}"').fetchone()[0]  # noqa: S608
                con.execute(
                    f'copy (select * from {SEEDS_SCHEMA}."{name}") to ? (format parquet)',  # noqa: S608
                    [str(out.path(seed_file(name)))],
                )
                seeds[name] = {"file": seed_file(name), "rows": int(count)}
            model = None
            if card is not None:
                out.write_json(MODEL_CARD_FILE, card)
                model = _copy_model(out, card["model_version"], registry_path)
            path = out.commit(
                {
                    "score_date": score_date,
                    "model_version": None if card is None else card["model_version"],
                    "tables": table_rows,
                    "seeds": seeds,
                    "model": model,
                }
            )
    return PublishResult(path, int(rows), int(dates), score_date)


def _require_relation(con, table: PublishedTable) -> None:
    schema, name = table.relation.split(".")
    found = con.execute(
        "select count(*) from information_schema.tables"
        " where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0]
    if not found:
        raise PublishError(
            f"the warehouse has no {table.relation} to publish as {table.name}: build it first"
            " (`riskmart run` builds every published mart)"
        )


def _model_folder(version: str, registry_path: Path | None) -> Path:
    if registry_path is None:
        raise PublishError(f"the champion {version} is to be published, but no registry folder was given")
    folder = registry_path / Path(version).name
    if not folder.is_dir():
        raise PublishError(f"the champion {version} has no folder in the model registry {registry_path}")
    return folder


def _complete_card(card: dict, registry_path: Path | None) -> dict:
    """The card as readers show it: plus the feature list and the training windows of the registry folder."""
    card = {k: v for k, v in card.items() if k != "artifact_dir"}  # readers get the card, not our paths
    folder = _model_folder(card["model_version"], registry_path)
    try:
        if "features" not in card:
            listed = json.loads((folder / "features.json").read_text(encoding="utf-8"))["features"]
            card["features"] = [
                {"name": f["name"], "kind": f["kind"], "monotone": f.get("monotone", 0)} for f in listed
            ]
        if "training_window" not in card and (folder / "training.json").is_file():
            card["training_window"] = json.loads((folder / "training.json").read_text(encoding="utf-8"))[
                "split"
            ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"model {card['model_version']}: unreadable registry artifacts: {exc}") from exc
    return card


def _copy_model(out: BundleWriter, version: str, registry_path: Path | None) -> dict:
    folder = _model_folder(version, registry_path)
    absent = [name for name in MODEL_FILES_REQUIRED if not (folder / name).is_file()]
    if absent:
        raise PublishError(f"model {version}: {folder} lacks {', '.join(absent)}")
    copied = {}
    for name in MODEL_FILES:
        if (folder / name).is_file():
            out.copy(f"{MODEL_DIR}/{name}", folder / name)
            copied[name] = f"{MODEL_DIR}/{name}"
    return {"version": version, "files": copied}
