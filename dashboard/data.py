"""What the dashboard reads: the published snapshot only, never the warehouse file the pipeline writes.

`open_snapshot` is the one place that knows the publish folder's layout. Every other function takes a
`Snapshot` and answers one page's question with DuckDB over the snapshot's parquet files; the app caches
the answers by the snapshot's id, so a newly published snapshot is read on the next page view, with no
restart. A mart the snapshot does not carry yet is `None`, and the page says "not published yet".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from bundle import BundleError, current_bundle_name, open_bundle

SCORES = "scores"
# Tables beside the scores that pages read when the snapshot carries them (the publisher's names).
CLIENT_HISTORY = "client_history"
FEATURE_DRIFT = "mon_feature_drift"
SCORE_DRIFT = "mon_score_drift"
MODEL_PERFORMANCE = "mon_model_performance"
ALERTS = "mon_alerts"
MODEL_REGISTRY = "model_registry"

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


def _query(snapshot: Snapshot, sql: str, params: list | None = None, **tables: str) -> pd.DataFrame:
    """Run `sql`, in which each alias of `tables` (alias=table name) reads that table of the snapshot."""
    with duckdb.connect() as con:
        for alias, name in tables.items():
            con.read_parquet(snapshot.path(name)).create_view(alias)
        return con.execute(sql, params or []).df()


def columns(snapshot: Snapshot, table: str) -> set[str]:
    with duckdb.connect() as con:
        rows = con.execute("select name from parquet_schema(?)", [snapshot.path(table)]).fetchall()
    return {r[0] for r in rows}


def has_columns(snapshot: Snapshot, table: str, needed: set[str]) -> bool:
    """The snapshot carries `table` with at least the `needed` columns."""
    return snapshot.has(table) and needed <= columns(snapshot, table)


# Portfolio


def score_dates(snapshot: Snapshot) -> list[date]:
    df = _query(snapshot, "select distinct score_date from s order by 1", s=SCORES)
    return [d.date() if hasattr(d, "date") else d for d in df["score_date"]]


def latest_score_date(snapshot: Snapshot) -> date | None:
    dates = score_dates(snapshot)
    return dates[-1] if dates else None


def portfolio_by_level_and_band(snapshot: Snapshot, day: date) -> pd.DataFrame:
    """Clients (and exposure, when the client history is published) per risk level and band on `day`."""
    if has_columns(snapshot, CLIENT_HISTORY, {"client_id", "feature_date", "outstanding"}):
        sql = (
            "select s.risk_level, s.score_band, count(*) as clients, sum(h.outstanding) as exposure"
            " from s s left join h h on h.client_id = s.client_id and h.feature_date = s.score_date"
            " where s.score_date = ? group by all order by 1, 2"
        )
        return _query(snapshot, sql, [day], s=SCORES, h=CLIENT_HISTORY)
    sql = (
        "select risk_level, score_band, count(*) as clients, cast(null as double) as exposure"
        " from s where score_date = ? group by all order by 1, 2"
    )
    return _query(snapshot, sql, [day], s=SCORES)


def portfolio_over_time(snapshot: Snapshot) -> pd.DataFrame:
    """Clients (and exposure when published) per score date and risk level."""
    if has_columns(snapshot, CLIENT_HISTORY, {"client_id", "feature_date", "outstanding"}):
        sql = (
            "select s.score_date, s.risk_level, count(*) as clients, sum(h.outstanding) as exposure"
            " from s s left join h h on h.client_id = s.client_id and h.feature_date = s.score_date"
            " group by all order by 1, 2"
        )
        return _query(snapshot, sql, s=SCORES, h=CLIENT_HISTORY)
    sql = (
        "select score_date, risk_level, count(*) as clients, cast(null as double) as exposure"
        " from s group by all order by 1, 2"
    )
    return _query(snapshot, sql, s=SCORES)


def average_score(snapshot: Snapshot, day: date) -> float | None:
    """Mean score of the clients scored on `day` (the semantic layer's metric average_score)."""
    return _query(snapshot, "select avg(score) as score from s where score_date = ?", [day], s=SCORES)[
        "score"
    ].iloc[0]


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


def alerts(snapshot: Snapshot) -> pd.DataFrame | None:
    """The alerts of the latest day the alerts mart holds; None when it is not published."""
    if not snapshot.has(ALERTS):
        return None
    cols = columns(snapshot, ALERTS)
    day = next((c for c in ("alert_date", "feature_date", "score_date", "day") if c in cols), None)
    if day is None:
        return _query(snapshot, "select * from a", a=ALERTS)
    return _query(snapshot, f"select * from a where {day} = (select max({day}) from a)", a=ALERTS)  # noqa: S608


# Client


def client_scores(snapshot: Snapshot, client_id: str) -> pd.DataFrame:
    sql = "select * from s where client_id = ? order by score_date"
    return _query(snapshot, sql, [client_id], s=SCORES)


def client_ids(snapshot: Snapshot, prefix: str, limit: int = 20) -> list[str]:
    sql = "select distinct client_id from s where starts_with(client_id, ?) order by 1 limit ?"
    return _query(snapshot, sql, [prefix, limit], s=SCORES)["client_id"].tolist()


def client_history(snapshot: Snapshot, client_id: str) -> pd.DataFrame | None:
    if not snapshot.has(CLIENT_HISTORY):
        return None
    sql = "select * from h where client_id = ? order by feature_date"
    return _query(snapshot, sql, [client_id], h=CLIENT_HISTORY)


# Drift and model


def table(snapshot: Snapshot, name: str) -> pd.DataFrame | None:
    """A whole published mart (the monitoring marts are small), or None when not published."""
    if not snapshot.has(name):
        return None
    return _query(snapshot, "select * from t", t=name)
