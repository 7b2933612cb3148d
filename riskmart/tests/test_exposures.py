"""The consumers declared as dbt exposures: `dbt ls --select +exposure:<name>` shows what each one reads."""

from __future__ import annotations

import pytest

from riskmart.dbt import run_dbt
from riskmart.settings import Settings


def _upstream(tmp_path, exposure: str, resource_type: str) -> set[str]:
    settings = Settings(warehouse=tmp_path / "ls.duckdb")
    names = run_dbt(
        settings,
        ["ls", "--select", f"+exposure:{exposure}", "--resource-type", resource_type, "--output", "name"],
        quiet=True,
    )
    return set(names)


@pytest.mark.parametrize(
    ("exposure", "marts", "not_read"),
    [
        (
            "risk_dashboard",
            {"fct_client_scores", "fct_rule_scores", "fct_client_features"},
            {"ml_training_set"},
        ),
        ("score_api", {"fct_client_scores", "fct_rule_scores", "fct_client_features"}, {"ml_training_set"}),
    ],
)
def test_each_consumer_lists_the_marts_it_depends_on(tmp_path, exposure, marts, not_read):
    models = _upstream(tmp_path, exposure, "model")
    assert marts <= models
    assert not (not_read & models)
    assert any(name.startswith("stg_") for name in models), "the lineage should reach the staging models"


def test_the_score_api_depends_on_the_scoring_seeds(tmp_path):
    seeds = _upstream(tmp_path, "score_api", "seed")
    assert {"score_scale", "score_bands", "risk_policy", "ensemble_weights", "feature_reasons"} <= seeds
