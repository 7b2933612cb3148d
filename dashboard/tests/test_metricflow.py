"""The portfolio metrics of models/semantic/: MetricFlow validates them and answers what the dashboard shows."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dashboard.tests.conftest import figure_of, open_page, title_of, trace_values

PROJECT = Path(__file__).resolve().parents[2]
MF = PROJECT / ".venv" / "bin" / "mf"


@pytest.fixture(scope="module")
def mf_env(monitored_cycle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """MetricFlow on a copy of the monitored demo warehouse (matured cohorts scored), with its own dbt
    target folder, for the module's tests (they only read it)."""
    from riskmart.dbt import run_dbt
    from riskmart.settings import Settings

    warehouse = tmp_path_factory.mktemp("metricflow") / "riskmart.duckdb"
    shutil.copy(monitored_cycle.settings.warehouse, warehouse)
    # parsed as every riskmart command parses (from the run's parse cache, riskmart.dbt): dbt's target and logs
    # beside the warehouse
    run_dbt(Settings(warehouse=warehouse), ["parse"], quiet=True)
    dbt_dir = warehouse.parent / "dbt"
    env = {
        **os.environ,
        "RISKMART_WAREHOUSE": str(warehouse),
        "DBT_PROFILES_DIR": str(PROJECT / "profiles"),
        "DBT_TARGET_PATH": str(dbt_dir / "target"),
        "DBT_LOG_PATH": str(dbt_dir / "logs"),
    }
    # mf reads <project>/target/semantic_manifest.json whatever DBT_TARGET_PATH says (dbt-metricflow 0.15):
    # put this parse's semantic manifest where mf looks, atomically.
    (PROJECT / "target").mkdir(exist_ok=True)
    staged = PROJECT / "target" / f".semantic_manifest.{os.getpid()}.json"
    shutil.copy(dbt_dir / "target" / "semantic_manifest.json", staged)
    os.replace(staged, PROJECT / "target" / "semantic_manifest.json")
    return env


def _mf(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(MF), *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_mf_validate_configs_passes(mf_env):
    out = _mf(mf_env, "validate-configs").stdout
    assert "Successfully validated the semantics of built manifest (ERRORS: 0" in out
    assert "Successfully validated metrics against data warehouse (ERRORS: 0" in out


def test_mf_query_gives_the_numbers_the_dashboard_shows(monitored_cycle, mf_env, tmp_path, monkeypatch):
    day = monitored_cycle.as_of.isoformat()
    where = f"{{{{ TimeDimension('metric_time', 'day') }}}} = '{day}'"
    by_level, overall, cohorts = tmp_path / "by_level.csv", tmp_path / "overall.csv", tmp_path / "cohorts.csv"
    _mf(mf_env, "query", "--metrics", "clients", "--group-by", "client_day__risk_level", "--where", where,
        "--csv", str(by_level))  # fmt: skip
    _mf(mf_env, "query", "--metrics", "clients,average_score,high_risk_share", "--where", where,
        "--csv", str(overall))  # fmt: skip
    _mf(mf_env, "query", "--metrics", "default_rate_matured", "--group-by", "metric_time__day",
        "--order", "metric_time__day", "--csv", str(cohorts))  # fmt: skip
    mf_levels = {
        row["client_day__risk_level"]: int(row["clients"]) for row in csv.DictReader(by_level.open())
    }
    (mf_overall,) = list(csv.DictReader(overall.open()))
    mf_rates = [float(row["default_rate_matured"]) for row in csv.DictReader(cohorts.open())]

    app = open_page(monitored_cycle.settings.publish_path, "portfolio", monkeypatch)
    assert not app.exception
    shown = {m.label: m.value for m in app.metric}
    assert shown["Clients scored"] == f"{int(mf_overall['clients']):,}"
    assert shown["Average score (points)"] == f"{float(mf_overall['average_score']):.1f}"
    assert shown["HIGH risk share"] == f"{100 * float(mf_overall['high_risk_share']):.1f} %"
    for level, clients in mf_levels.items():
        assert shown[f"{level} risk clients"] == f"{clients:,}"
    assert sum(mf_levels.values()) == int(mf_overall["clients"]) > 0
    # the default rate of matured cohorts: the line the page draws, cohort by cohort, and the latest one
    (line,) = [
        c for c in app.get("plotly_chart") if title_of(c).startswith("Default rate of matured cohorts")
    ]
    drawn = trace_values(figure_of(line)["data"][0], "y")
    assert len(mf_rates) >= 3
    assert drawn == pytest.approx([100 * rate for rate in mf_rates], abs=1e-9)
    (latest,) = [value for label, value in shown.items() if label.startswith("Default rate of the latest")]
    assert latest == f"{100 * mf_rates[-1]:.2f} %"
