"""What the dashboard reads is what the publisher writes, and what the dbt exposure declares."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from bundle import current_bundle
from dashboard import data
from dashboard.tests.conftest import figure_of, open_page, title_of, trace_values
from riskmart.publish import DASHBOARD_TABLES, PUBLISHED_TABLES, SCORED_MART, PublishError, publish_bundle

PROJECT = Path(__file__).resolve().parents[2]
PII = {"client_name", "tax_id", "client_name_hash", "tax_id_hash", "email", "phone", "address"}


def _exposure_refs(name: str) -> set[str]:
    exposures = yaml.safe_load((PROJECT / "models/marts/_marts__exposures.yml").read_text(encoding="utf-8"))
    (exposure,) = [e for e in exposures["exposures"] if e["name"] == name]
    return {re.fullmatch(r"ref\('(\w+)'\)", d).group(1) for d in exposure["depends_on"]}


def test_the_dashboard_exposure_lists_exactly_the_published_marts_the_dashboard_reads():
    read = (SCORED_MART, *DASHBOARD_TABLES)
    assert _exposure_refs("risk_dashboard") == {t.relation.split(".")[1] for t in read}
    assert set(data.TABLES) == {t.name for t in read}
    assert {t.name for t in read} <= {t.name for t in PUBLISHED_TABLES}


def test_the_bundle_carries_every_published_mart_as_the_warehouse_holds_it(demo_cycle):
    bundle = current_bundle(demo_cycle.settings.publish_path)
    with duckdb.connect(str(demo_cycle.settings.warehouse), read_only=True) as con:
        for table in PUBLISHED_TABLES:
            rows = con.execute(f"select count(*) from {table.relation}").fetchone()[0]  # noqa: S608
            names = [d[0] for d in con.execute(f"select * from {table.relation} limit 0").description]  # noqa: S608
            published = pq.read_table(bundle.table_path(table.name))
            assert bundle.table_rows(table.name) == published.num_rows == rows, table.name
            assert published.column_names == names, table.name
            assert not PII & set(names), table.name
        registry_columns = {
            d[0] for d in con.execute("select * from ml.ml_model_registry limit 0").description
        }
    assert bundle.table_rows("mon_feature_drift") > 0 and bundle.table_rows("client_history") > 0
    # the registry's rows, not where its files lie on the pipeline's disk
    published_registry = set(pq.read_schema(bundle.table_path("model_registry")).names)
    assert registry_columns - published_registry >= {"artifact_dir"}
    assert bundle.table_rows("model_registry") >= 1


def test_publishing_without_the_monitoring_marts_is_refused_and_nothing_changes(demo_cycle, tmp_path):
    warehouse = tmp_path / "scores_only.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"attach '{demo_cycle.settings.warehouse}' as built (read_only)")
        con.execute("create schema marts")
        con.execute("create table marts.fct_client_scores as select * from built.marts.fct_client_scores")
    with pytest.raises(PublishError, match="no marts.fct_client_history to publish as client_history"):
        publish_bundle(warehouse, tmp_path / "published", None, registry_path=None)
    assert not (tmp_path / "published" / "CURRENT").exists()


def test_model_and_portfolio_pages_show_the_matured_cohorts(monitored_cycle, monkeypatch):
    published = monitored_cycle.settings.publish_path
    with duckdb.connect(str(monitored_cycle.settings.warehouse), read_only=True) as con:
        cohorts = con.execute(
            "select cohort_start, scorer, auc, gini, observed_default_rate from marts.mon_model_performance"
            " where cohort_grain = 'score_date' order by cohort_start"
        ).df()
    assert cohorts["cohort_start"].nunique() >= 3

    app = open_page(published, "model", monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    figures = {title_of(c): figure_of(c) for c in app.get("plotly_chart")}
    auc = figures["AUC by matured cohort: model vs rule score"]
    for trace in auc["data"]:
        scorer = {"model": "model", "rule score": "rules"}[trace["name"]]
        expected = cohorts[cohorts["scorer"] == scorer]
        assert trace_values(trace, "y") == pytest.approx(expected["auc"].tolist(), abs=1e-12)
    assert any(t.startswith("Calibration by decile") for t in figures)
    assert "Weekly Gini trend of matured cohorts: model vs rule score" in figures

    app = open_page(published, "portfolio", monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    latest = cohorts[cohorts["scorer"] == "model"].iloc[-1]
    metrics = {m.label: m.value for m in app.metric}
    label = f"Default rate of the latest matured cohort ({latest['cohort_start']:%Y-%m-%d})"
    assert metrics[label] == f"{100 * latest['observed_default_rate']:.2f} %"
