"""What the dashboard reads: the published snapshot only, never the warehouse file the pipeline writes.

`open_snapshot` is the one place that knows the publish folder's layout. Every other function takes a
`Snapshot` and answers one page's question with DuckDB over the snapshot's parquet files; the app caches
the answers by the snapshot's id, so a newly published snapshot is read on the next page view, with no
restart. A mart the snapshot does not carry yet is `None`, and the page says "not published yet".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from bundle import BundleError, current_bundle_name, open_bundle

SCORES = "scores"
# The published marts the pages read beside the scores (riskmart/publish.py PUBLISHED_TABLES names them).
CLIENT_HISTORY = "client_history"  # marts.fct_client_history
FEATURE_DRIFT = "mon_feature_drift"
FEATURE_BINS = "mon_feature_bins"
SCORE_DRIFT = "mon_score_drift"
SCORE_MIX = "mon_score_mix"
MODEL_PERFORMANCE = "mon_model_performance"
MODEL_CALIBRATION = "mon_model_calibration"
ALERTS = "mon_alerts"
MODEL_REGISTRY = "model_registry"  # staging.stg_ml__model_registry: the registry's rows, no artifact paths
TABLES = (
    SCORES,
    CLIENT_HISTORY,
    FEATURE_DRIFT,
    FEATURE_BINS,
    SCORE_DRIFT,
    SCORE_MIX,
    MODEL_PERFORMANCE,
    MODEL_CALIBRATION,
    ALERTS,
    MODEL_REGISTRY,
)
# The statuses mon_feature_drift and mon_score_drift judge by the seeded PSI thresholds; the others
# (warm_up, too_few_rows, no_reference, not_judged) say why a date was not judged.
JUDGED_STATUSES = ("stable", "watch", "alert")

RISK_LEVELS = ("LOW", "MEDIUM", "HIGH")
BANDS = ("A", "B", "C", "D", "E", "F")


class SnapshotError(RuntimeError):
    """The published folder holds something the dashboard cannot read; the message says what."""


@dataclass(frozen=True)
class Snapshot:
    """One published snapshot: its id (changes with every publish), its tables and the champion's card."""

    id: str
    tables: dict[str, Path]
    model_card: dict | None = field(default=None, compare=False)

    def has(self, table: str) -> bool:
        return table in self.tables

    def path(self, table: str) -> str:
        return str(self.tables[table])


def open_snapshot(publish_dir: Path) -> Snapshot | None:
    """The bundle CURRENT names (`bundle`, the layout riskmart/publish.py writes), or None when nothing
    was published yet. A bundle's files are checked against its manifest the first time it is opened."""
    try:
        name = current_bundle_name(publish_dir)
        if name is None:
            return None
        bundle = open_bundle(publish_dir / name, verify=name not in _VERIFIED)
        _VERIFIED.add(name)
        tables = {table: bundle.table_path(table) for table in bundle.table_names}
        return Snapshot(id=name, tables=tables, model_card=bundle.model_card())
    except BundleError as exc:
        raise SnapshotError(str(exc)) from exc


# Bundles already checked against their manifest in this process (a bundle never changes once published).
_VERIFIED: set[str] = set()


def _database(snapshot: Snapshot) -> duckdb.DuckDBPyConnection:
    """The snapshot's in-memory DuckDB, with one view per published table over its parquet file: opened once
    per snapshot and process (a new DuckDB costs ~35 ms of CPU, a query on an open one ~5 ms). The two
    newest snapshots are kept: a page still drawing the previous one finishes on it."""
    with _DATABASES_LOCK:
        database = _DATABASES.get(snapshot.id)
        if database is None:
            database = duckdb.connect()
            for name in TABLES:
                if snapshot.has(name):
                    database.read_parquet(snapshot.path(name)).create_view(name)
            _DATABASES[snapshot.id] = database
            while len(_DATABASES) > 2:
                del _DATABASES[next(iter(_DATABASES))]
        return database


# Open snapshot databases by snapshot id, oldest first; Streamlit runs each session's script in its own
# thread, so each query runs on its own cursor, taken under the lock.
_DATABASES: dict[str, duckdb.DuckDBPyConnection] = {}
_DATABASES_LOCK = threading.Lock()


def _query(snapshot: Snapshot, sql: str, params: list | None = None, **tables: str) -> pd.DataFrame:
    """Run `sql`, in which each alias of `tables` (alias=table name) reads that table of the snapshot."""
    database = _database(snapshot)
    with _DATABASES_LOCK:
        cursor = database.cursor()
    with cursor:
        for alias, name in tables.items():
            # identifiers from this module's constants only; a temporary view is the cursor's own
            if not alias.isidentifier() or name not in TABLES:
                raise ValueError(f"not a published table alias: {alias}={name}")
            cursor.execute(f"create temporary view {alias} as select * from main.{name}")  # noqa: S608
        return cursor.execute(sql, params or []).df()


def _published(snapshot: Snapshot, table: str, sql: str, params: list | None = None) -> pd.DataFrame | None:
    """`sql` over the published `table` (read as `t`), or None when the snapshot does not carry it."""
    return _query(snapshot, sql, params, t=table) if snapshot.has(table) else None


# Portfolio


def score_dates(snapshot: Snapshot) -> list[date]:
    df = _query(snapshot, "select distinct score_date from s order by 1", s=SCORES)
    return [d.date() if hasattr(d, "date") else d for d in df["score_date"]]


def latest_score_date(snapshot: Snapshot) -> date | None:
    dates = score_dates(snapshot)
    return dates[-1] if dates else None


def clients_by_level_and_band(snapshot: Snapshot, day: date) -> pd.DataFrame:
    """Clients of the scored mart per risk level and band on `day` (the semantic layer's metric clients)."""
    sql = (
        "select risk_level, score_band, count(*) as clients"
        " from s where score_date = ? group by all order by 1, 2"
    )
    return _query(snapshot, sql, [day], s=SCORES)


def portfolio_mix(snapshot: Snapshot) -> pd.DataFrame | None:
    """mon_score_mix: clients and exposure (outstanding) per score date, per risk level and per band."""
    sql = (
        "select score_date, dimension, level_name, clients, client_share, outstanding, outstanding_share"
        " from t order by score_date, dimension, level_name"
    )
    return _published(snapshot, SCORE_MIX, sql)


def average_score(snapshot: Snapshot, day: date) -> float | None:
    """Mean score of the clients scored on `day` (the semantic layer's metric average_score)."""
    return _query(snapshot, "select avg(score) as score from s where score_date = ?", [day], s=SCORES)[
        "score"
    ].iloc[0]


def high_risk_share(snapshot: Snapshot, day: date) -> float | None:
    """Share of the clients scored on `day` at risk level HIGH (the semantic layer's metric high_risk_share)."""
    sql = (
        "select avg(case when risk_level = 'HIGH' then 1.0 else 0.0 end) as share from s where score_date = ?"
    )
    return _query(snapshot, sql, [day], s=SCORES)["share"].iloc[0]


def matured_default_rates(snapshot: Snapshot) -> pd.DataFrame | None:
    """Observed default rate of each matured score-date cohort (mon_model_performance, the rows the model is
    judged on: clients it scored, not in default, label window closed); the semantic layer's
    default_rate_matured."""
    sql = (
        "select cohort_start as cohort_date, clients, default_count, observed_default_rate"
        " from t where cohort_grain = 'score_date' and scorer = 'model' order by cohort_start"
    )
    return _published(snapshot, MODEL_PERFORMANCE, sql)


def recommended_actions(snapshot: Snapshot, day: date) -> pd.DataFrame:
    sql = (
        "select recommended_action, count(*) as clients from s where score_date = ?"
        " group by 1 order by clients desc, 1"
    )
    return _query(snapshot, sql, [day], s=SCORES)


def clients_to_act_on(snapshot: Snapshot, day: date, limit: int = 50) -> pd.DataFrame:
    """Today's clients whose recommended action is not MAINTAIN, riskiest first."""
    sql = (
        "select client_id, risk_level, score_band, score, probability_of_default, recommended_action, reason_1"
        " from s where score_date = ? and recommended_action <> 'MAINTAIN'"
        " order by probability_of_default desc, client_id limit ?"
    )
    return _query(snapshot, sql, [day, limit], s=SCORES)


def alerts(snapshot: Snapshot, day: date) -> pd.DataFrame | None:
    """mon_alerts dated `day`, most severe first; None when the alerts mart is not published."""
    sql = (
        "select severity, alert_type, subject, metric, metric_value, threshold, message, recommended_action"
        " from t where alert_date = ?"
        " order by case severity when 'critical' then 0 else 1 end, alert_type, subject"
    )
    return _published(snapshot, ALERTS, sql, [day])


# Client


def client_scores(snapshot: Snapshot, client_id: str) -> pd.DataFrame:
    sql = "select * from s where client_id = ? order by score_date"
    return _query(snapshot, sql, [client_id], s=SCORES)


def client_ids(snapshot: Snapshot, prefix: str, limit: int = 20) -> list[str]:
    sql = "select distinct client_id from s where starts_with(client_id, ?) order by 1 limit ?"
    return _query(snapshot, sql, [prefix, limit], s=SCORES)["client_id"].tolist()


def client_history(snapshot: Snapshot, client_id: str) -> pd.DataFrame | None:
    """The client's payments, overdue balance and utilization per feature date (marts.fct_client_history)."""
    sql = (
        "select feature_date, payment_count_30d, payment_amount_30d, overdue_amount, oldest_overdue_days,"
        " credit_limit, outstanding, utilization_ratio_now"
        " from t where client_id = ? order by feature_date"
    )
    return _published(snapshot, CLIENT_HISTORY, sql, [client_id])


# Drift


def feature_drift(snapshot: Snapshot) -> pd.DataFrame | None:
    """mon_feature_drift: one row per feature date and feature, with its status and PSIs."""
    sql = (
        "select feature_date, feature, feature_kind, model_version, psi, status_reference, status_psi,"
        " status, status_reason from t order by feature_date, feature"
    )
    return _published(snapshot, FEATURE_DRIFT, sql)


def feature_distribution(snapshot: Snapshot, feature: str, day: date) -> pd.DataFrame | None:
    """mon_feature_bins of `feature` on `day`: each baseline bin's share now and in the baseline."""
    sql = (
        "select bin_index, bin_label, baseline_share, current_share from t"
        " where feature = ? and feature_date = ? order by bin_index"
    )
    return _published(snapshot, FEATURE_BINS, sql, [feature, day])


def score_drift(snapshot: Snapshot) -> pd.DataFrame | None:
    """mon_score_drift: the champion's probability and margin against their training distribution per day."""
    sql = (
        "select score_date, score_variable, model_version, rows_total, mean_value, psi, ks_distance,"
        " js_distance, status from t order by score_date, score_variable"
    )
    return _published(snapshot, SCORE_DRIFT, sql)


# Model


def cohort_performance(snapshot: Snapshot, grain: str) -> pd.DataFrame | None:
    """mon_model_performance at `grain` (score_date or week): AUC, Gini, KS, Brier and calibration per
    matured cohort and scorer (model, rules, blend)."""
    sql = (
        "select cohort_start, cohort_end, scorer, model_version, clients, default_count, auc, gini, ks, brier,"
        " mean_predicted_probability, observed_default_rate, calibration_ratio, training_gini, gini_drop"
        " from t where cohort_grain = ? order by cohort_start, scorer"
    )
    return _published(snapshot, MODEL_PERFORMANCE, sql, [grain])


def calibration_deciles(snapshot: Snapshot) -> pd.DataFrame | None:
    """mon_model_calibration of the latest matured score date: per scorer and decile, mean predicted
    probability and observed default rate."""
    sql = (
        "select score_date, scorer, decile, clients, default_count, mean_predicted_probability,"
        " observed_default_rate from t where score_date = (select max(score_date) from t)"
        " order by scorer, decile"
    )
    return _published(snapshot, MODEL_CALIBRATION, sql)


def model_registry(snapshot: Snapshot) -> pd.DataFrame | None:
    """The registry's rows (champion, challengers, retired) with their out-of-time test metrics."""
    sql = (
        "select model_version, status, trained_at, as_of_date, train_start, train_end, test_start, test_end,"
        " test_auc, test_gini, test_ks, test_brier from t"
        " order by case status when 'champion' then 0 when 'challenger' then 1 else 2 end, trained_at desc"
    )
    return _published(snapshot, MODEL_REGISTRY, sql)
