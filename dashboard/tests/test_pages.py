"""Each page on a real published snapshot of the demo cycle: no exception, the expected numbers shown."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bundle import BundleWriter
from dashboard import data
from dashboard.tests.conftest import figure_of, open_page, shown_text, title_of, trace_values


def _no_exception(app) -> None:
    assert not app.exception, [e.value for e in app.exception]


def _warehouse_scores(demo_cycle) -> pd.DataFrame:
    with duckdb.connect(str(demo_cycle.settings.warehouse), read_only=True) as con:
        return con.execute(
            "select * from marts.fct_client_scores where score_date = ?", [demo_cycle.as_of]
        ).df()


def test_portfolio_shows_the_days_clients_per_risk_level(demo_cycle, published, monkeypatch):
    app = open_page(published, "portfolio", monkeypatch)
    _no_exception(app)
    metrics = {m.label: m.value for m in app.metric}
    levels = demo_cycle.summary.risk_levels  # counted by the pipeline from the warehouse
    assert metrics["Clients scored"] == f"{sum(levels.values()):,}"
    for level in data.RISK_LEVELS:
        assert metrics[f"{level} risk clients"] == f"{levels.get(level, 0):,}"
    assert f"Portfolio on {demo_cycle.as_of}" in shown_text(app)
    # today's actions: the counts of the scored mart
    scores = _warehouse_scores(demo_cycle)
    actions = app.dataframe[0].value.set_index("action")["clients"].to_dict()
    assert actions == scores["recommended_action"].value_counts().to_dict()
    assert len(app.get("plotly_chart")) >= 1
    # exposure: mon_score_mix of the day, as the warehouse holds it
    high = (scores["risk_level"] == "HIGH").mean()
    assert metrics["HIGH risk share"] == f"{100 * high:.1f} %"
    with duckdb.connect(str(demo_cycle.settings.warehouse), read_only=True) as con:
        (outstanding,) = con.execute(
            "select sum(outstanding) from marts.mon_score_mix where score_date = ? and dimension = 'risk_level'",
            [demo_cycle.as_of],
        ).fetchone()
    assert outstanding > 0
    assert metrics["Exposure (outstanding)"] == f"{outstanding:,.0f}"


def test_client_page_shows_score_probability_and_reasons(demo_cycle, published, monkeypatch):
    scores = _warehouse_scores(demo_cycle)
    client = scores.sort_values("probability_of_default").iloc[-1]  # the riskiest client today
    app = open_page(published, "client", monkeypatch)
    _no_exception(app)
    app.text_input(key="client_id").input(client["client_id"]).run()
    _no_exception(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Score (300-850)"] == str(client["score"])
    assert metrics["Probability of default (60 days)"] == f"{100 * client['probability_of_default']:.2f} %"
    assert metrics["Risk level / band"] == f"{client['risk_level']} / {client['score_band']}"
    assert metrics["Recommended action"] == client["recommended_action"]
    text = shown_text(app)
    assert client["client_id"] in text
    if isinstance(client["reason_1"], str):
        assert f"1. {client['reason_1']}" in text
    # payments, overdue and utilization history: one point per feature date of the client in the feature mart
    with duckdb.connect(str(demo_cycle.settings.warehouse), read_only=True) as con:
        (dates,) = con.execute(
            "select count(*) from marts.fct_client_features where client_id = ?", [client["client_id"]]
        ).fetchone()
    figures = {title_of(c): c for c in app.get("plotly_chart")}
    for title in (
        "Overdue amount",
        "Credit limit utilization",
        "Payments received in the 30 days to each date",
    ):
        figure = figures[f"{title}: {client['client_id']}"]
        assert len(trace_values(figure_of(figure)["data"][0], "x")) == dates > 1


def test_client_page_unknown_id_says_so(published, monkeypatch):
    app = open_page(published, "client", monkeypatch)
    app.text_input(key="client_id").input("NO-SUCH-CLIENT").run()
    _no_exception(app)
    assert "No client with an id starting 'NO-SUCH-CLIENT'" in shown_text(app)


def test_drift_page_counts_the_published_statuses_of_the_latest_date(demo_cycle, published, monkeypatch):
    app = open_page(published, "drift", monkeypatch)
    _no_exception(app)
    with duckdb.connect(str(demo_cycle.settings.warehouse), read_only=True) as con:
        counts = dict(
            con.execute(
                "select status, count(*) from marts.mon_feature_drift"
                " where feature_date = (select max(feature_date) from marts.mon_feature_drift) group by 1"
            ).fetchall()
        )
    assert counts, "the demo cycle's champion has drift rows"
    metrics = {m.label: m.value for m in app.metric}
    for status in data.JUDGED_STATUSES:
        assert metrics[f"Features {status} (latest date)"] == str(counts.get(status, 0))
    not_judged = sum(n for status, n in counts.items() if status not in data.JUDGED_STATUSES)
    assert metrics["Features not judged (latest date)"] == str(not_judged)
    titles = [title_of(c) for c in app.get("plotly_chart")]
    assert any(t.startswith("Feature drift status by date") for t in titles)
    assert any(t.endswith("vs training baseline") for t in titles), "the distribution now vs baseline"


def test_model_page_shows_the_champions_card(demo_cycle, published, monkeypatch):
    app = open_page(published, "model", monkeypatch)
    _no_exception(app)
    text = shown_text(app)
    assert f"Champion {demo_cycle.summary.model_version}" in text
    metrics = app.dataframe[0].value.set_index("metric")
    assert metrics.loc["auc", "model"] == pytest.approx(demo_cycle.summary.model_metrics["auc"])
    assert metrics.loc["gini", "model"] == pytest.approx(demo_cycle.summary.model_metrics["gini"])


def test_a_new_snapshot_is_shown_without_a_restart(published, monkeypatch):
    app = open_page(published, "portfolio", monkeypatch)
    before = {m.label: m.value for m in app.metric}
    # publish a smaller snapshot the way the publisher does: a new bundle, then CURRENT swapped to it
    current = data.open_snapshot(published)
    rows = pq.read_table(current.tables[data.SCORES]).slice(0, 10)
    with BundleWriter(published, "smaller") as out:
        pq.write_table(rows, out.path("scores.parquet"))
        out.commit({"score_date": None, "model_version": None, "seeds": {},
                    "tables": {data.SCORES: {"file": "scores.parquet", "rows": 10}}})  # fmt: skip
    app.run()  # the same running app: the next page view
    _no_exception(app)
    after = {m.label: m.value for m in app.metric}
    assert before["Clients scored"] != "10"
    assert after["Clients scored"] == "10"


def test_nothing_published_yet_is_a_message_not_an_exception(tmp_path, monkeypatch):
    for page in ("portfolio", "client", "drift", "model"):
        app = open_page(tmp_path / "empty", page, monkeypatch)
        _no_exception(app)
        assert "Nothing is published in" in shown_text(app)


def test_a_broken_current_pointer_is_a_clear_error(published, monkeypatch):
    (published / "CURRENT").write_text("../elsewhere.parquet\n", encoding="utf-8")
    app = open_page(published, "portfolio", monkeypatch)
    _no_exception(app)
    assert "The published snapshot cannot be read" in shown_text(app)
