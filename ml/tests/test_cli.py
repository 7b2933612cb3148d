"""`riskmart train` and `riskmart score` through the real typer app, on a real warehouse file."""

from __future__ import annotations

import json

import duckdb
from typer.testing import CliRunner

from riskmart.cli import app

runner = CliRunner()


def _env(settings) -> dict[str, str]:
    return {
        "RISKMART_WAREHOUSE": str(settings.warehouse),
        "RISKMART_REGISTRY_DIR": str(settings.registry_path),
        "RISKMART_TRUTH": str(settings.truth_dir),
        "RISKMART_ML_THREADS": "1",
    }


def test_train_then_score_from_the_command_line(settings):
    trained = runner.invoke(app, ["train", "--json"], env=_env(settings))
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)
    assert result["promoted"] and result["metrics"]["auc"] > 0.6

    scored = runner.invoke(app, ["score", "--date", "2025-12-31", "--json"], env=_env(settings))
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["model_version"] == result["model_version"]

    # Without --date: the latest feature date of the mart.
    latest = runner.invoke(app, ["score"], env=_env(settings))
    assert latest.exit_code == 0 and "at 2025-12-31" in latest.output
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    scored = con.execute("select count(*) from ml.ml_scores").fetchone()[0]
    clients = con.execute(
        "select count(*) from marts.fct_client_features"
        " where feature_date = '2025-12-31' and not in_default_at_feature_date"
    ).fetchone()[0]
    assert scored == clients > 400
    con.close()


def test_errors_say_what_to_do(settings):
    no_model = runner.invoke(app, ["score", "--date", "2025-12-31"], env=_env(settings))
    assert no_model.exit_code == 2
    assert "no champion" in no_model.output and "riskmart train" in no_model.output

    bad_date = runner.invoke(app, ["score", "--date", "31/12/2025"], env=_env(settings))
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output

    con = duckdb.connect(str(settings.warehouse))
    con.execute("drop table marts.ml_training_set")
    con.close()
    no_mart = runner.invoke(app, ["train"], env=_env(settings))
    assert no_mart.exit_code == 2
    assert "marts.ml_training_set does not exist" in no_mart.output and "riskmart build" in no_mart.output
