"""The monitoring marts on a real warehouse: the SQL statistics against scipy and scikit-learn on the same rows
and bins, no feature alert over the whole history without a shift, alerts where a shift is injected, and an
incremental run equal to a full refresh."""

from __future__ import annotations

import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from scipy.stats import chi2
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from conftest import run_demo_cycle
from ml.warehouse import connect_warehouse
from riskmart.dbt import run_dbt
from riskmart.pipeline import MONITORING_SELECTOR, _print_summary
from riskmart.settings import Settings

pytestmark = pytest.mark.slow

EPSILON = 1e-4  # seed monitoring_parameters.psi_epsilon


def _frame(settings: Settings, sql: str, params: list | None = None) -> pd.DataFrame:
    with connect_warehouse(settings.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).df()


@pytest.fixture(scope="module")
def monitored(monitored_cycle):
    """The session's demo cycle with every matured month end scored (conftest.monitored_cycle)."""
    return monitored_cycle


def _champion(settings: Settings) -> str:
    return _frame(settings, "select model_version from ml.ml_model_registry where status = 'champion'").iloc[
        0, 0
    ]


def _population(settings: Settings, feature_date) -> pd.DataFrame:
    return _frame(
        settings,
        "select * from marts.fct_client_features where feature_date = ? and not in_default_at_feature_date",
        [feature_date],
    )


def _shares(values: pd.Series, bins: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Current shares, baseline shares and current counts on the baseline's bins, computed here in numpy."""
    present = values.dropna()
    if bins["variable_kind"].iloc[0] == "categorical":
        counts = present.astype(str).value_counts()
        categories = bins["category"].tolist()
        unseen = int(counts[~counts.index.isin(categories)].sum())
        observed = np.array(
            [counts.get(c, 0) for c in categories] + ([unseen] if unseen else []), dtype=float
        )
        expected = np.array(bins["baseline_share"].tolist() + ([0.0] if unseen else []))
    else:
        edges = bins["bin_upper"].dropna().to_numpy(np.float64)
        numbers = present.astype(float).to_numpy()
        observed = np.bincount(np.searchsorted(edges, numbers, side="left"), minlength=len(bins)).astype(
            float
        )
        expected = bins["baseline_share"].to_numpy(np.float64)
    return observed / observed.sum(), expected, observed


def _psi(actual: np.ndarray, expected: np.ndarray) -> float:
    a, e = np.where(actual == 0, EPSILON, actual), np.where(expected == 0, EPSILON, expected)
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))  # (a - e) ln(a / e) = KL(a||e) + KL(e||a) per bin


def test_psi_ks_js_and_chi_square_equal_scipy_on_the_same_bins(monitored):
    settings = monitored.settings
    baseline = _frame(
        settings,
        "select * from ml.ml_feature_baselines where model_version = ? order by variable, bin_index",
        [_champion(settings)],
    )
    drift = _frame(settings, "select * from marts.mon_feature_drift where rows_present > 0")
    month_end = drift.loc[drift["previous_month_end"].notna(), "previous_month_end"].max()
    checked = 0
    for day in (monitored.as_of, month_end):
        population = _population(settings, day)
        rows = drift[drift["feature_date"] == pd.Timestamp(day)]
        assert len(rows) > 40, "every feature of the champion has a row per date"
        for row in rows.itertuples():
            bins = baseline[baseline["variable"] == row.feature]
            values = population[row.feature]
            if row.feature_kind == "numeric":  # booleans read as 1/0, as the ML package reads them
                values = values.map(lambda v: np.nan if v is None or pd.isna(v) else float(v))
            actual, expected, counts = _shares(values, bins)
            assert row.rows_present == counts.sum()
            assert row.psi == pytest.approx(_psi(actual, expected), abs=1e-9), row.feature
            assert row.js_distance == pytest.approx(jensenshannon(actual, expected, base=2), abs=1e-9)
            if row.feature_kind == "numeric":
                ks = np.max(np.abs(np.cumsum(actual) - np.cumsum(expected)))  # scipy has no binned KS
                assert row.ks_distance == pytest.approx(ks, abs=1e-9), row.feature
            else:
                smoothed = np.where(expected == 0, EPSILON, expected) * counts.sum()
                statistic = float(np.sum((counts - smoothed) ** 2 / smoothed))
                assert row.chi_square == pytest.approx(statistic, rel=1e-9)
                assert row.chi_square_df == len(counts) - 1
                # the SQL p-value uses erfc to 1.2e-7 relative for odd degrees of freedom
                p = chi2.sf(statistic, len(counts) - 1)
                assert row.chi_square_p_value == pytest.approx(p, rel=1e-6, abs=1e-12), row.feature
            checked += 1
    assert checked > 80


def test_month_over_month_psi_uses_the_same_bins(monitored):
    settings = monitored.settings
    row = _frame(
        settings,
        "select * from marts.mon_feature_drift where feature = 'tenure_months'"
        " and psi_vs_previous_month_end is not null order by feature_date desc limit 1",
    ).iloc[0]
    bins = _frame(
        settings,
        "select * from ml.ml_feature_baselines where model_version = ? and variable = 'tenure_months'"
        " order by bin_index",
        [_champion(settings)],
    )
    now, _, _ = _shares(_population(settings, row["feature_date"])["tenure_months"], bins)
    before, _, _ = _shares(_population(settings, row["previous_month_end"])["tenure_months"], bins)
    assert row["psi_vs_previous_month_end"] == pytest.approx(_psi(now, before), abs=1e-9)
    assert row["status_reference"] == "previous_month_end", "tenure trends by construction (seed)"


def _matured(settings: Settings) -> pd.DataFrame:
    return _frame(
        settings,
        "select s.score_date, s.model_probability, s.rule_probability, s.rule_score, s.probability_of_default,"
        " l.default_next_60d from marts.fct_client_scores s join intermediate.int_default_labels l"
        " on s.client_id = l.client_id and s.score_date = l.feature_date"
        " where s.scored_by = 'model' and l.label_matured",
    )


def test_auc_ks_and_brier_equal_scikit_learn_on_the_same_matured_rows(monitored):
    settings = monitored.settings
    matured = _matured(settings)
    performance = _frame(settings, "select * from marts.mon_model_performance")
    cohorts = performance[performance["cohort_grain"] == "score_date"]
    assert cohorts["cohort_start"].nunique() >= 3, "several matured month ends were scored"
    for row in cohorts.itertuples():
        rows = matured[matured["score_date"] == row.cohort_start]
        y = rows["default_next_60d"].to_numpy()
        risk, probability = {
            "model": (rows["model_probability"], rows["model_probability"]),
            "rules": (-rows["rule_score"], rows["rule_probability"]),
            "blend": (rows["probability_of_default"], rows["probability_of_default"]),
        }[row.scorer]
        assert row.clients == len(rows) and row.default_count == y.sum()
        assert row.brier == pytest.approx(brier_score_loss(y, probability), abs=1e-9)
        if 0 < y.sum() < len(y):
            assert row.auc == pytest.approx(roc_auc_score(y, risk), abs=1e-9), (row.cohort_start, row.scorer)
            fpr, tpr, _ = roc_curve(y, risk)
            assert row.ks == pytest.approx(np.max(tpr - fpr), abs=1e-9)
            assert row.gini == pytest.approx(2 * row.auc - 1, abs=1e-12)
        else:
            assert pd.isna(row.auc)
    weeks = performance[(performance["cohort_grain"] == "week") & (performance["scorer"] == "model")]
    week = weeks.sort_values("clients").iloc[-1]
    pooled = matured[matured["score_date"].between(week["cohort_start"], week["cohort_end"])]
    assert pd.Timestamp(week["cohort_start"]).dayofweek == 0, "weeks start on Monday"
    assert week["auc"] == pytest.approx(
        roc_auc_score(pooled["default_next_60d"], pooled["model_probability"]), abs=1e-9
    )


def test_calibration_deciles_partition_each_cohort(monitored):
    settings = monitored.settings
    deciles = _frame(settings, "select * from marts.mon_model_calibration")
    performance = _frame(
        settings, "select * from marts.mon_model_performance where cohort_grain = 'score_date'"
    )
    totals = deciles.groupby(["score_date", "scorer"])[["clients", "default_count"]].sum()
    for row in performance.itertuples():
        assert tuple(totals.loc[(row.cohort_start, row.scorer)]) == (row.clients, row.default_count)
    assert deciles["decile"].between(1, 10).all()


def test_no_feature_alerts_over_the_whole_history_without_a_shift(monitored):
    drift = _frame(monitored.settings, "select * from marts.mon_feature_drift")
    judged = drift[drift["status"].isin(["stable", "watch", "alert"])]
    # 9 months of history: the 180-day features have no complete-window baseline (no_reference) here
    assert judged["feature"].nunique() >= 20 and judged["feature_date"].nunique() > 20
    alerts = drift[drift["status"] == "alert"]
    assert alerts.empty, alerts[["feature_date", "feature", "status_psi", "status_reason"]].to_string()


def test_the_run_summary_prints_the_days_alerts(monitored, demo_cycle):
    assert isinstance(demo_cycle.summary.alerts, list)
    console = Console(record=True, width=200)
    _print_summary(demo_cycle.summary, console)
    assert "alerts today" in console.export_text()
    expected = _frame(
        demo_cycle.settings, "select count(*) from marts.mon_alerts where alert_date = ?", [demo_cycle.as_of]
    ).iloc[0, 0]
    assert len(demo_cycle.summary.alerts) == expected


# the demo generator's shift in the last months ----------------------------------------------------------

# The generator's shift (`shift_months`, demo/README.md) raises the distress logit, lowers new bureau scores,
# brings more registrations from two industries, and makes clients draw harder on their credit lines
# (`shock_utilization`): the ordered volume about doubles, and with it the outstanding balance and the
# utilization. These are the features it moves in the population the model scores (clients not in default).
SHIFTED = {"utilization_ratio_now", "outstanding", "order_count_30d", "order_value_30d"}
SHIFT_MONTHS = 2


@pytest.fixture(scope="module")
def shifted(tmp_path_factory):
    """The daily cycle on the same small demo export with the generator's shift in its last two months:
    the champion trains on the months before (its labels must have matured), then scores the shifted ones."""
    cycle = run_demo_cycle(tmp_path_factory.mktemp("shifted"), shift_months=SHIFT_MONTHS)
    # the shift starts on the first day of the month SHIFT_MONTHS - 1 months before the end month
    shift_from = date(cycle.as_of.year, cycle.as_of.month - (SHIFT_MONTHS - 1), 1)
    return cycle, shift_from


def test_shifted_features_reach_alert_by_the_last_date_and_the_others_stay_stable_or_watch(shifted):
    cycle, shift_from = shifted
    drift = _frame(cycle.settings, "select * from marts.mon_feature_drift")
    last = drift[drift["feature_date"] == pd.Timestamp(cycle.as_of)].set_index("feature")
    assert (last.loc[sorted(SHIFTED), "status"] == "alert").all(), last.loc[sorted(SHIFTED)].to_string()
    others = last.drop(index=sorted(SHIFTED))
    assert others["status"].isin(["stable", "watch"]).sum() >= 15, "enough unshifted features are judged"
    assert not (others["status"] == "alert").any(), others[others["status"] == "alert"].to_string()
    before = drift[drift["feature_date"] < pd.Timestamp(shift_from)]
    assert before["feature_date"].nunique() >= 5
    assert not (before["status"] == "alert").any(), before[before["status"] == "alert"].to_string()
    alerts = _frame(
        cycle.settings,
        "select * from marts.mon_alerts where alert_type = 'feature_drift' and alert_date = ?",
        [cycle.as_of],
    )
    assert set(alerts["subject"]) == SHIFTED
    assert (alerts["severity"] == "warning").all() and alerts["recommended_action"].str.len().gt(0).all()
    # the run's summary carries them: alerts are information, the run succeeded
    assert {a["subject"] for a in cycle.summary.alerts if a["alert_type"] == "feature_drift"} == SHIFTED


def test_an_incremental_run_of_the_monitoring_marts_equals_a_full_refresh(monitored, tmp_path):
    warehouse = tmp_path / "incremental.duckdb"
    shutil.copy(monitored.settings.warehouse, warehouse)
    settings = monitored.settings.model_copy(update={"warehouse": warehouse})
    tables = (
        "mon_feature_bins",
        "mon_feature_drift",
        "mon_score_drift",
        "mon_score_mix",
        "mon_model_performance",
        "mon_model_calibration",
    )
    before = {t: _frame(settings, f"select * from marts.{t} order by all") for t in tables}
    run_dbt(settings, ["run", "--select", MONITORING_SELECTOR], as_of=monitored.as_of, quiet=True)
    for table in tables:
        after = _frame(settings, f"select * from marts.{table} order by all")
        pd.testing.assert_frame_equal(after, before[table], check_exact=False, rtol=1e-12)


# the matured cohorts' marts, incremental by cohort
PERFORMANCE_BUILD = [
    "run",
    "--select",
    "int_mon_matured_scores",
    "mon_model_performance",
    "mon_model_calibration",
]
MARKER = 0.123456789  # a mean probability no computation gives here: it survives only where a cohort was kept


def _performance_copies(monitored, tmp_path) -> dict[str, Settings]:
    copies = {}
    for side in ("incremental", "full"):
        warehouse = tmp_path / f"{side}.duckdb"
        shutil.copy(monitored.settings.warehouse, warehouse)
        copies[side] = monitored.settings.model_copy(update={"warehouse": warehouse})
    return copies


def _edit(settings: Settings, statements: list[tuple[str, list]]) -> None:
    with connect_warehouse(settings.warehouse) as con:
        for sql, params in statements:
            con.execute(sql, params)


def _build_both(copies: dict[str, Settings], as_of) -> dict[str, dict[str, pd.DataFrame]]:
    run_dbt(copies["incremental"], PERFORMANCE_BUILD, as_of=as_of, quiet=True)
    run_dbt(copies["full"], [*PERFORMANCE_BUILD, "--full-refresh"], as_of=as_of, quiet=True)
    return {
        side: {
            table: _frame(settings, f"select * from marts.{table} order by all")
            for table in ("mon_model_performance", "mon_model_calibration")
        }
        for side, settings in copies.items()
    }


def test_an_incremental_build_of_the_performance_marts_computes_only_the_cohorts_that_changed(
    monitored, tmp_path
):
    """Late data flips one matured label of a cohort, another cohort's scores are withdrawn, a third is
    left alone: the incremental build computes the first again, drops the second and keeps the third as it
    was built (a marker written into it survives), and otherwise equals a full refresh of the same data.
    A new champion's test Gini then reaches every cohort's model row."""
    copies = _performance_copies(monitored, tmp_path)
    built = _frame(copies["full"], "select * from marts.mon_model_performance")
    dates = sorted(built.loc[built["cohort_grain"] == "score_date", "cohort_start"].unique())
    assert len(dates) >= 3, "several matured month ends were scored"
    withdrawn, kept, flipped = dates[0], dates[1], dates[-1]
    matured_client = (
        "select min(s.client_id) from marts.fct_client_scores s join intermediate.int_default_labels l"
        " on s.client_id = l.client_id and s.score_date = l.feature_date"
        " where s.score_date = ? and s.scored_by = 'model' and l.label_matured"
    )
    late_data = [
        (
            "update intermediate.int_default_labels set default_next_60d = 1 - default_next_60d"
            f" where feature_date = ? and client_id = ({matured_client})",
            [flipped, flipped],
        ),
        ("delete from marts.fct_client_scores where score_date = ?", [withdrawn]),
    ]
    for settings in copies.values():
        _edit(settings, late_data)
    for table, date_column in (
        ("mon_model_performance", "cohort_start"),
        ("mon_model_calibration", "score_date"),
    ):
        _edit(
            copies["incremental"],
            [
                (
                    f"update marts.{table} set mean_predicted_probability = ? where {date_column} = ?",
                    [MARKER, kept],
                )
            ],
        )

    result = _build_both(copies, monitored.as_of)
    performance = result["incremental"]["mon_model_performance"]
    calibration = result["incremental"]["mon_model_calibration"]
    # the untouched cohort was kept as built, at both grains...
    assert (
        performance.loc[performance["cohort_start"] == kept, "mean_predicted_probability"] == MARKER
    ).all()
    assert (calibration.loc[calibration["score_date"] == kept, "mean_predicted_probability"] == MARKER).all()
    # ...the withdrawn one is gone, at the score-date grain and its week's
    assert withdrawn not in set(performance["cohort_start"]) | set(calibration["score_date"])
    assert not ((performance["cohort_start"] <= withdrawn) & (performance["cohort_end"] >= withdrawn)).any()
    # ...and the flipped one was computed again: one default more or fewer for each scorer
    flipped_rows = performance[performance["cohort_start"] == flipped].set_index(["cohort_grain", "scorer"])
    was = built[built["cohort_start"] == flipped].set_index(["cohort_grain", "scorer"])
    assert len(flipped_rows) == 3
    assert ((flipped_rows["default_count"] - was.loc[flipped_rows.index, "default_count"]).abs() == 1).all()
    # everything else as a full refresh computes it
    for table, date_column in (
        ("mon_model_performance", "cohort_start"),
        ("mon_model_calibration", "score_date"),
    ):
        expected = result["full"][table].copy()
        expected.loc[expected[date_column] == kept, "mean_predicted_probability"] = MARKER
        pd.testing.assert_frame_equal(result["incremental"][table], expected, check_exact=False, rtol=1e-12)

    # a new champion (here: its test Gini restated) changes training_gini of every cohort's model rows
    restated = [
        ("update ml.ml_model_registry set test_gini = test_gini - 0.05 where status = 'champion'", [])
    ]
    for settings in copies.values():
        _edit(settings, restated)
    result = _build_both(copies, monitored.as_of)
    performance = result["incremental"]["mon_model_performance"]
    pd.testing.assert_frame_equal(
        performance, result["full"]["mon_model_performance"], check_exact=False, rtol=1e-12
    )
    champion = _frame(
        copies["full"], "select model_version, test_gini from ml.ml_model_registry where status = 'champion'"
    )
    model_rows = performance[
        (performance["scorer"] == "model") & (performance["model_version"] == champion.iloc[0, 0])
    ]
    assert len(model_rows) > 0 and (model_rows["training_gini"] == champion.iloc[0, 1]).all()


def test_a_performance_mart_built_before_its_fingerprint_gains_it_and_computes_every_cohort_once(
    monitored, tmp_path
):
    """A warehouse whose performance marts were built before `cohort_fingerprint` existed (a table without
    it): the next build adds the column and computes every cohort again (a marker on every row is gone),
    equal to a full refresh."""
    copies = _performance_copies(monitored, tmp_path)
    for table in ("mon_model_performance", "mon_model_calibration"):
        _edit(
            copies["incremental"],
            [
                (f"alter table marts.{table} drop column cohort_fingerprint", []),
                (f"update marts.{table} set mean_predicted_probability = ?", [MARKER]),
            ],
        )
    result = _build_both(copies, monitored.as_of)
    for table in ("mon_model_performance", "mon_model_calibration"):
        upgraded = result["incremental"][table]
        assert len(upgraded) > 0 and not (upgraded["mean_predicted_probability"] == MARKER).any()
        pd.testing.assert_frame_equal(upgraded, result["full"][table], check_exact=False, rtol=1e-12)
