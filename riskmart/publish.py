"""Publish what readers that must never hold the warehouse need (architecture.md): one bundle.

A bundle (layout: `bundle.layout`) holds the published marts (PUBLISHED_TABLES; `scores` is the scored
mart), the champion's card and files copied from the model registry, and every dbt seed as the warehouse
built it. The warehouse is read through `ml.warehouse` (DuckDB or BigQuery: `read_arrow`), the Parquet
written by pyarrow. `bundle.BundleWriter` writes it under a temporary name, moves it into place and swaps
CURRENT last, so a reader sees the old bundle or the new one, never half of one; to a `gs://` URL the same
bundle is uploaded and CURRENT replaced last (`bundle.remote`). The API and the dashboard read only bundles,
so no request ever queries the warehouse (on BigQuery: no query cost per request).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bundle import CURRENT_FILE, MODEL_CARD_FILE, MODEL_DIR, SCORES_TABLE, BundleWriter
from bundle.layout import (
    KEEP_BUNDLES,
    NO_HISTORY_FEATURES_TABLE,
    SCORING_QUERY_TABLE,
    seed_file,
    table_file,
)
from bundle.remote import is_remote, local_folder, upload_bundle
from ml.warehouse import DuckDBWarehouse, Warehouse, WarehouseError
from riskmart.settings import PROJECT_DIR

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
    path: Path | str  # the bundle's folder (its URL when published to an fsspec URL)
    rows: int  # rows of the scored mart
    score_dates: int
    latest_score_date: str | None

    @property
    def scores_path(self) -> Path | str:
        if isinstance(self.path, str):
            return f"{self.path}/{table_file(SCORES_TABLE)}"
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
    warehouse: Path | Warehouse,
    publish_dir: Path | str,
    model_card: dict | None,
    *,
    registry_path: Path | None,
    keep: int = KEEP_BUNDLES,
    tables: tuple[PublishedTable, ...] = PUBLISHED_TABLES,
    project_dir: Path = PROJECT_DIR,
) -> PublishResult:
    """Write a new bundle from the warehouse (and, with a champion, its registry folder), then swap
    CURRENT to it. `model_card` None publishes a bundle scored by the rules alone.

    `warehouse` is a DuckDB file or any `ml.warehouse.Warehouse` (BigQuery): every table is read through
    its `read_arrow` and written with pyarrow. `publish_dir` is a folder or an fsspec URL (`gs://bucket/x`):
    a URL gets the same layout, staged locally then uploaded (`bundle.remote`). On an engine other than
    DuckDB the applicant tables come from `render_applicant_tables` (DuckDB SQL, which the scorer runs)."""
    source = DuckDBWarehouse(Path(warehouse)) if isinstance(warehouse, str | Path) else warehouse
    card = None if model_card is None else _complete_card(model_card, registry_path)
    if is_remote(publish_dir):
        with tempfile.TemporaryDirectory(prefix="riskmart-publish-") as staging:
            with source.session() as session:
                staged = _write_bundle(session, Path(staging), card, registry_path, 1, tables, project_dir)
            url = upload_bundle(staged.path, str(publish_dir), keep=keep)
        return PublishResult(url, staged.rows, staged.score_dates, staged.latest_score_date)
    # one connection for every read (dbt releases the DuckDB file after each of its commands)
    with source.session() as session:
        return _write_bundle(
            session, local_folder(publish_dir), card, registry_path, keep, tables, project_dir
        )


def _write_bundle(
    source: Warehouse,
    publish_dir: Path,
    card: dict | None,
    registry_path: Path | None,
    keep: int,
    tables: tuple[PublishedTable, ...],
    project_dir: Path,
) -> PublishResult:
    # On DuckDB the warehouse's own applicant tables are DuckDB SQL already; elsewhere they are rendered so.
    render = not isinstance(source, DuckDBWarehouse)
    seeds: dict[str, pa.Table] = {}
    rendered: dict[str, pa.Table] = {}
    scores = _read_table(source, SCORED_MART)
    latest = pc.max(scores.column("score_date")).as_py() if scores.num_rows else None
    score_date = str(latest) if latest else None
    with BundleWriter(publish_dir, score_date, keep=keep) as out:
        table_rows = {}
        for table in tables:
            if table == SCORED_MART:
                data = scores
            elif render and table in APPLICANT_TABLES:
                if not rendered:
                    seeds = seeds or _read_seeds(source, project_dir)
                    rendered = render_applicant_tables(seeds, project_dir)
                data = rendered[table.name]
            else:
                data = _read_table(source, table)
            pq.write_table(data, out.path(table_file(table.name)), compression="zstd")
            table_rows[table.name] = {"file": table_file(table.name), "rows": data.num_rows}
        seeds_written = {}
        for name, data in (seeds or _read_seeds(source, project_dir)).items():
            pq.write_table(data, out.path(seed_file(name)))
            seeds_written[name] = {"file": seed_file(name), "rows": data.num_rows}
        model = None
        if card is not None:
            out.write_json(MODEL_CARD_FILE, card)
            model = _copy_model(out, card["model_version"], registry_path)
        path = out.commit(
            {
                "score_date": score_date,
                "model_version": None if card is None else card["model_version"],
                "tables": table_rows,
                "seeds": seeds_written,
                "model": model,
            }
        )
    dates = pc.count_distinct(scores.column("score_date")).as_py() if scores.num_rows else 0
    return PublishResult(path, scores.num_rows, int(dates), score_date)


def _read_table(source: Warehouse, table: PublishedTable) -> pa.Table:
    # relation and order come from this module's constants, never from input
    try:
        data = source.read_arrow(f"select * from {table.relation} order by {table.order_by}")  # noqa: S608
    except WarehouseError as exc:
        if source.table_columns(table.relation) is None:
            raise PublishError(
                f"the warehouse has no {table.relation} to publish as {table.name}: build it first"
                " (`riskmart run` builds every published mart)"
            ) from None
        raise PublishError(f"cannot read {table.relation} to publish as {table.name}: {exc}") from exc
    return data if isinstance(source, DuckDBWarehouse) else naive_utc(data)


def naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps as the DuckDB warehouse holds them, UTC without a zone (BigQuery's TIMESTAMP arrives
    zoned in UTC); the same instants. BigQuery's one integer type (INT64) stays int64 where DuckDB
    publishes an INTEGER as int32, with the same values (the API answers alike: test_bigquery_emulator)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            column = table.column(index).cast(pa.timestamp(field.type.unit, tz="UTC"))
            naive = column.cast(pa.timestamp(field.type.unit))
            table = table.set_column(index, field.with_type(naive.type), naive)
    return table


def project_seeds(project_dir: Path) -> list[str]:
    """The seeds of the dbt project (one CSV each under seeds/), by name."""
    return sorted(path.stem for path in (project_dir / "seeds").rglob("*.csv"))


def _read_seeds(source: Warehouse, project_dir: Path) -> dict[str, pa.Table]:
    """Every seed of the project as the warehouse built it (rows in the warehouse's order, as dbt loaded
    the CSV on DuckDB); a seed the warehouse lacks is an error (`riskmart run` builds the seeds)."""
    seeds = {}
    for name in project_seeds(project_dir):
        relation = f"{SEEDS_SCHEMA}.{name}"
        try:
            seeds[name] = source.read_arrow(f"select * from {relation}")  # noqa: S608
        except WarehouseError as exc:
            if source.table_columns(relation) is None:
                raise PublishError(
                    f"the warehouse has no seed {relation}: build the seeds first (`riskmart run`)"
                ) from None
            raise PublishError(f"cannot read the seed {relation}: {exc}") from exc
    return seeds


# The models a bundle carries that read nothing but the seeds: applicant scoring's no-history row and query.
APPLICANT_MODELS = ("int_no_history_features", "applicant_scoring_query")
# The profile's DuckDB target the applicant tables are rendered with when the warehouse is not DuckDB.
APPLICANT_RENDER_TARGET = "dev"


def render_applicant_tables(
    seeds: dict[str, pa.Table], project_dir: Path = PROJECT_DIR
) -> dict[str, pa.Table]:
    """The applicant tables (APPLICANT_TABLES) as a DuckDB build of the project publishes them.

    Applicant scoring runs the scoring query in-process with DuckDB, and on BigQuery dbt renders that
    query as BigQuery SQL. So dbt builds the seeds and the two seed-only models (APPLICANT_MODELS) with the
    profile's DuckDB target in a scratch warehouse: the very SQL a DuckDB build publishes. The rendering
    reads the seeds (the rule components); `seeds`, the warehouse's, must equal those dbt loaded from the
    project's CSVs, or the bundle's query would not match its seeds."""
    from riskmart.dbt import DbtError, run_dbt
    from riskmart.settings import Settings

    with tempfile.TemporaryDirectory(prefix="riskmart-applicant-") as scratch:
        warehouse = Path(scratch) / "applicant.duckdb"
        settings = Settings(
            warehouse=warehouse, dbt_target=APPLICANT_RENDER_TARGET, dbt_project_dir=project_dir
        )
        try:
            run_dbt(settings, ["seed"], quiet=True)
            run_dbt(settings, ["run", "--select", *APPLICANT_MODELS], quiet=True)
        except DbtError as exc:
            raise PublishError(
                f"rendering the applicant scoring query with the DuckDB target {APPLICANT_RENDER_TARGET!r}"
                f" failed (nothing was published): {exc}"
            ) from exc
        built = DuckDBWarehouse(warehouse)
        for name, table in seeds.items():
            if not same_rows(table, built.read_arrow(f"select * from {SEEDS_SCHEMA}.{name}")):  # noqa: S608
                raise PublishError(
                    f"the warehouse's seed {SEEDS_SCHEMA}.{name} differs from {project_dir / 'seeds'}: the"
                    " applicant scoring query is rendered from the project's seeds, so build the warehouse's"
                    " seeds from this checkout (`riskmart run`), then publish again"
                )
        return {table.name: _read_table(built, table) for table in APPLICANT_TABLES}


def same_rows(left: pa.Table, right: pa.Table) -> bool:
    """The same columns and the same rows in any order, values compared as Python values (so an INT64
    column equals an INTEGER one with the same numbers)."""
    if left.column_names != right.column_names or left.num_rows != right.num_rows:
        return False

    def ordered(table: pa.Table) -> list[tuple]:
        rows = [tuple(row.values()) for row in table.to_pylist()]
        return sorted(rows, key=lambda row: tuple((v is None, 0 if v is None else v) for v in row))

    return ordered(left) == ordered(right)


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
