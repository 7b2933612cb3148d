"""The daily cycle compares a newly trained model with a demo's ground truth only when one is configured
(`RISKMART_TRUTH`), and a configured truth that is not there stops the cycle with a clear message."""

from __future__ import annotations

import shutil

import pytest
from rich.console import Console

from ml.warehouse import connect_warehouse
from riskmart.pipeline import CycleError, run_daily_cycle
from riskmart.settings import Settings

pytestmark = pytest.mark.slow


def _registry(warehouse) -> list[tuple]:
    with connect_warehouse(warehouse, read_only=True) as con:
        return con.execute(
            "select status, truth_auc, truth_n_rows from ml.ml_model_registry order by trained_at"
        ).fetchall()


def test_the_demo_cycle_with_its_truth_configured_compares_the_model_with_it(demo_cycle):
    assert demo_cycle.settings.truth == demo_cycle.truth
    [(status, truth_auc, truth_rows)] = _registry(demo_cycle.settings.warehouse)
    assert status == "champion" and 0.5 < truth_auc <= 1 and truth_rows > 0


def test_a_cycle_trains_without_truth_unless_configured_and_a_missing_one_stops_it(demo_cycle, tmp_path):
    warehouse = tmp_path / "warehouse" / "riskmart.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(demo_cycle.settings.warehouse, warehouse)
    with connect_warehouse(warehouse) as con:
        con.execute("update ml.ml_model_registry set status = 'retired'")  # no champion: training is due
    quiet = Console(quiet=True)

    missing = Settings(warehouse=warehouse, landing=demo_cycle.landing, truth=tmp_path / "no-truth")
    with pytest.raises(CycleError, match="does not exist") as caught:
        run_daily_cycle(missing, as_of=demo_cycle.as_of, console=quiet)
    assert "RISKMART_TRUTH" in caught.value.hint
    assert len(_registry(warehouse)) == 1, "nothing registered by the failed run"

    # the demo's truth lies beside the landing, where the demo wrote it, but nothing points at it
    assert (demo_cycle.landing.parent / "truth").is_dir()
    unset = Settings(warehouse=warehouse, landing=demo_cycle.landing)
    summary = run_daily_cycle(unset, as_of=demo_cycle.as_of, console=quiet)
    assert summary.trained is not None
    retired, trained = _registry(warehouse)
    assert retired[0] == "retired" and trained[0] == "champion"
    assert trained[1] is None and trained[2] is None
