"""The risk dashboard: `streamlit run dashboard/app.py` (or `riskmart dashboard`). Pages: Portfolio, Client,
Drift, Model; `?page=<name>` opens one directly. Every number comes from the published snapshot."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import data
from dashboard.settings import publish_dir

PAGES = ("Portfolio", "Client", "Drift", "Model")
LEVEL_COLOURS = {"LOW": "#2e7d32", "MEDIUM": "#f9a825", "HIGH": "#c62828"}
STATUS_COLOURS = {"stable": "#2e7d32", "watch": "#f9a825", "alert": "#c62828"}
# The scorers of mon_model_performance the Model page compares (the blend is in the table, not the charts).
SCORERS = {"model": "model", "rules": "rule score"}


@st.cache_data(max_entries=256, show_spinner=False)
def _load(snapshot_id: str, name: str, args: tuple, _snapshot: data.Snapshot):
    # keyed by the snapshot's id: a new publish is a new id, so nothing stale is ever shown
    return getattr(data, name)(_snapshot, *args)


def load(snapshot: data.Snapshot, name: str, *args):
    return _load(snapshot.id, name, args, snapshot)


def not_published(what: str) -> None:
    st.info(f"{what}: not published yet. It appears here once the daily run publishes it.", icon="ℹ️")


def chart(fig, *, x: str, y: str) -> None:
    fig.update_layout(xaxis_title=x, yaxis_title=y, margin={"t": 60})
    st.plotly_chart(fig, width="stretch")


def money(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:,.0f}"


# Portfolio


def portfolio_page(snapshot: data.Snapshot, day: date) -> None:
    st.header(f"Portfolio on {day}")
    alerts = load(snapshot, "alerts", day)
    if alerts is None:
        not_published("Today's alerts (mon_alerts)")
    elif alerts.empty:
        st.success("No alerts today.")
    else:
        st.error(f"{len(alerts)} alert(s) today")
        st.dataframe(alerts, hide_index=True)

    by = load(snapshot, "clients_by_level_and_band", day)
    totals = by.groupby("risk_level")["clients"].sum()
    cols = st.columns(len(data.RISK_LEVELS) + 3)
    cols[0].metric("Clients scored", f"{int(by['clients'].sum()):,}")
    for col, level in zip(cols[1:-2], data.RISK_LEVELS, strict=True):
        col.metric(f"{level} risk clients", f"{int(totals.get(level, 0)):,}")
    cols[-2].metric("HIGH risk share", f"{100 * load(snapshot, 'high_risk_share', day):.1f} %")
    cols[-1].metric("Average score (points)", f"{load(snapshot, 'average_score', day):.1f}")

    fig = px.bar(
        by,
        x="score_band",
        y="clients",
        color="risk_level",
        color_discrete_map=LEVEL_COLOURS,
        category_orders={"score_band": list(data.BANDS), "risk_level": list(data.RISK_LEVELS)},
        title=f"Clients by score band and risk level on {day}",
    )
    chart(fig, x="Score band (A best, F worst)", y="Clients (count)")

    mix = load(snapshot, "portfolio_mix")
    if mix is None:
        not_published("Exposure by risk level and band (mon_score_mix)")
    else:
        _exposure_charts(mix, day)

    rates = load(snapshot, "matured_default_rates")
    if rates is None:
        not_published("Default rate of matured cohorts (mon_model_performance)")
    elif rates.empty:
        st.caption(
            "No matured cohort yet: a score date's 60-day window must close before its default rate is known."
        )
    else:
        latest = rates.iloc[-1]
        st.metric(
            f"Default rate of the latest matured cohort ({latest['cohort_date']:%Y-%m-%d})",
            f"{100 * latest['observed_default_rate']:.2f} %",
        )
        fig = px.line(
            rates.assign(default_rate_pct=100 * rates["observed_default_rate"]),
            x="cohort_date",
            y="default_rate_pct",
            markers=True,
            title="Default rate of matured cohorts (clients the model scored, not in default)",
        )
        chart(fig, x="Score date of the cohort (60-day window matured)", y="Observed default rate (%)")

    st.subheader("Today's recommended actions")
    actions = load(snapshot, "recommended_actions", day)
    st.dataframe(actions.rename(columns={"recommended_action": "action"}), hide_index=True)
    st.dataframe(load(snapshot, "clients_to_act_on", day), hide_index=True)


def _exposure_charts(mix: pd.DataFrame, day: date) -> None:
    today = mix[mix["score_date"] == pd.Timestamp(day)]
    levels = today[today["dimension"] == "risk_level"]
    st.metric("Exposure (outstanding)", money(levels["outstanding"].sum() if len(levels) else None))
    for dimension, order, axis in (
        ("risk_level", data.RISK_LEVELS, "Risk level"),
        ("score_band", data.BANDS, "Score band (A best, F worst)"),
    ):
        fig = px.bar(
            today[today["dimension"] == dimension],
            x="level_name",
            y="outstanding",
            category_orders={"level_name": list(order)},
            title=f"Exposure (outstanding) by {axis.split(' (')[0].lower()} on {day}",
        )
        chart(fig, x=axis, y="Outstanding (currency units)")
    over_time = mix[mix["dimension"] == "risk_level"]
    if over_time["score_date"].nunique() > 1:
        for column, title, unit in (
            ("clients", "Clients by risk level over time", "Clients (count)"),
            ("outstanding", "Exposure (outstanding) by risk level over time", "Outstanding (currency units)"),
        ):
            fig = px.line(
                over_time, x="score_date", y=column, color="level_name", color_discrete_map=LEVEL_COLOURS,
                markers=True, title=title,
            )  # fmt: skip
            chart(fig, x="Score date", y=unit)
    else:
        st.caption(f"The published scores hold one score date ({day}): no history to draw over time.")


# Client


def client_page(snapshot: data.Snapshot, day: date) -> None:
    st.header("Client")
    query = st.text_input("Client id", key="client_id", placeholder="e.g. the lender's client id").strip()
    if not query:
        st.caption("Type a client id (or its beginning) to see its scores and history.")
        return
    scores = load(snapshot, "client_scores", query)
    if scores.empty:
        matches = load(snapshot, "client_ids", query)
        if not matches:
            st.warning(f"No client with an id starting {query!r} in the published scores.")
            return
        if len(matches) > 1:
            st.write("Clients whose id starts so: " + ", ".join(matches))
            return
        query = matches[0]
        scores = load(snapshot, "client_scores", query)
    latest = scores.iloc[-1]
    st.subheader(f"{query} on {latest['score_date']:%Y-%m-%d}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Score (300-850)", int(latest["score"]))
    c2.metric("Probability of default (60 days)", f"{100 * latest['probability_of_default']:.2f} %")
    c3.metric("Risk level / band", f"{latest['risk_level']} / {latest['score_band']}")
    c4.metric("Recommended action", latest["recommended_action"])

    st.markdown("**Today's reasons**")
    reasons = []
    for i in (1, 2, 3):
        reason = latest.get(f"reason_{i}")
        if reason is None or pd.isna(reason):
            continue
        value, points = latest.get(f"reason_{i}_value"), latest.get(f"reason_{i}_points")
        text = f"{i}. {reason}"
        if value is not None and not pd.isna(value):
            text += f" (value {value})"
        if points is not None and not pd.isna(points):
            text += f": costs {int(points)} score points"
        reasons.append(text)
    st.markdown("\n".join(reasons) if reasons else "No reasons recorded for this score.")

    if len(scores) > 1:
        fig = px.line(scores, x="score_date", y="score", markers=True, title=f"Score history of {query}")
        chart(fig, x="Score date", y="Score (points, 300-850)")
        history = scores.assign(pd_pct=100 * scores["probability_of_default"])
        fig = px.line(
            history, x="score_date", y="pd_pct", markers=True, title=f"Probability of default of {query}"
        )
        chart(fig, x="Score date", y="Probability of default in 60 days (%)")
    else:
        st.caption("One published score date: no score history to draw yet.")

    history = load(snapshot, "client_history", query)
    if history is None:
        not_published("Payments, overdue and utilization history (client_history)")
        return
    if history.empty:
        st.caption(f"No feature history published for {query}.")
        return
    for column, title, unit in (
        ("payment_amount_30d", "Payments received in the 30 days to each date", "Paid (currency units)"),
        ("overdue_amount", "Overdue amount", "Overdue (currency units)"),
        ("oldest_overdue_days", "Days past due of the oldest overdue invoice", "Days past due (days)"),
        ("utilization_ratio_now", "Credit limit utilization", "Utilization (outstanding / limit)"),
    ):
        fig = px.line(history, x="feature_date", y=column, markers=True, title=f"{title}: {query}")
        chart(fig, x="Feature date", y=unit)


# Drift


def drift_page(snapshot: data.Snapshot, day: date) -> None:
    st.header("Drift against the champion's training baseline")
    drift = load(snapshot, "feature_drift")
    if drift is None:
        not_published("Feature drift (mon_feature_drift)")
        return
    if drift.empty:
        st.info("No feature drift yet: it is computed once a champion model has a baseline.", icon="ℹ️")
    else:
        _feature_drift(snapshot, drift)
    scores = load(snapshot, "score_drift")
    if scores is None:
        not_published("Score drift (mon_score_drift)")
    elif not scores.empty:
        probability = scores[scores["score_variable"] == "model_probability"]
        fig = px.line(
            probability, x="score_date", y="psi", markers=True, hover_data=["status", "rows_total"],
            title="Drift of the champion's probability of default against its training distribution",
        )  # fmt: skip
        chart(fig, x="Score date", y="Population stability index (PSI, unitless)")
        latest = probability.iloc[-1] if len(probability) else None
        if latest is not None:
            st.caption(
                f"Probability of default on {latest['score_date']:%Y-%m-%d}: status {latest['status']}."
            )


def _feature_drift(snapshot: data.Snapshot, drift: pd.DataFrame) -> None:
    order = {status: level for level, status in enumerate(data.JUDGED_STATUSES)}
    # dates or features not judged (warm_up, too_few_rows, no_reference, not_judged) stay blank
    heat = drift.assign(level=drift["status"].map(order)).pivot_table(
        index="feature", columns="feature_date", values="level", aggfunc="max", dropna=False
    )
    latest_date = drift["feature_date"].max()
    latest = drift[drift["feature_date"] == latest_date]
    counts = latest["status"].value_counts()
    cols = st.columns(4)
    for col, status in zip(cols, data.JUDGED_STATUSES, strict=False):
        col.metric(f"Features {status} (latest date)", int(counts.get(status, 0)))
    cols[3].metric("Features not judged (latest date)", int((~latest["status"].isin(order)).sum()))
    fig = px.imshow(
        heat,
        color_continuous_scale=[STATUS_COLOURS["stable"], STATUS_COLOURS["watch"], STATUS_COLOURS["alert"]],
        zmin=0,
        zmax=2,
        aspect="auto",
        title="Feature drift status by date (green stable, amber watch, red alert, blank not judged)",
    )
    fig.update_coloraxes(
        colorbar={"tickvals": [0, 1, 2], "ticktext": list(data.JUDGED_STATUSES), "title": "status"}
    )
    chart(fig, x="Feature date", y="Feature")

    features = sorted(drift["feature"].unique())
    ranked = latest.sort_values("status_psi", ascending=False, na_position="last")["feature"]
    feature = st.selectbox("Feature", features, index=features.index(ranked.iloc[0]))
    one = drift[drift["feature"] == feature]
    fig = px.line(
        one, x="feature_date", y="status_psi", markers=True, hover_data=["status", "status_reference"],
        title=f"PSI of {feature} (against {one['status_reference'].iloc[-1].replace('_', ' ')})",
    )  # fmt: skip
    chart(fig, x="Feature date", y="Population stability index (PSI, unitless)")
    bins = load(snapshot, "feature_distribution", feature, latest_date.date())
    if bins is None:
        not_published("Distributions now vs baseline (mon_feature_bins)")
    elif not bins.empty:
        long = pd.concat(
            [
                bins.assign(share_pct=100 * bins["current_share"], distribution=f"{latest_date:%Y-%m-%d}"),
                bins.assign(share_pct=100 * bins["baseline_share"], distribution="training baseline"),
            ]
        )
        fig = px.bar(
            long, x="bin_label", y="share_pct", color="distribution", barmode="group",
            category_orders={"bin_label": bins["bin_label"].tolist()},
            title=f"Distribution of {feature}: {latest_date:%Y-%m-%d} vs training baseline",
        )  # fmt: skip
        chart(fig, x="Bin of the baseline", y="Share of clients with a value (%)")


# Model


def model_page(snapshot: data.Snapshot, day: date) -> None:
    st.header("Model")
    card = snapshot.model_card
    if card is None:
        st.info("No champion model is published: the rule score alone scores the portfolio.", icon="ℹ️")
    else:
        st.subheader(f"Champion {card['model_version']}")
        window = card.get("test_window") or []
        trained = card.get("trained_at", "n/a")
        st.markdown(
            f"Trained {trained} (UTC) on data as of {card.get('as_of_date', 'n/a')}; status "
            f"**{card.get('status', 'n/a')}**; out-of-time test window "
            f"{' to '.join(str(w) for w in window) if window else 'n/a'}."
        )
        metrics = card.get("metrics") or {}
        baseline = card.get("baseline_metrics") or {}
        rows = [
            {"metric": name, "model": metrics.get(name), "rule score": baseline.get(name)}
            for name in ("auc", "gini", "ks", "pr_auc", "brier", "ece")
            if name in metrics
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        features = card.get("features")
        if features:
            names = [f["name"] if isinstance(f, dict) else str(f) for f in features]
            st.markdown(f"**{len(names)} features**: " + ", ".join(names))

    cohorts = load(snapshot, "cohort_performance", "score_date")
    if cohorts is None:
        not_published("AUC and Gini by matured cohort (mon_model_performance)")
    elif cohorts.empty:
        st.caption("No matured cohort yet: performance appears once a scored date's 60-day window closes.")
    else:
        _performance_charts(cohorts, load(snapshot, "cohort_performance", "week"))
    deciles = load(snapshot, "calibration_deciles")
    if deciles is None:
        not_published("Calibration by decile (mon_model_calibration)")
    elif not deciles.empty:
        fig = px.line(
            deciles, x="mean_predicted_probability", y="observed_default_rate", color="scorer", markers=True,
            title=f"Calibration by decile, cohort of {deciles['score_date'].iloc[0]:%Y-%m-%d}"
            " (a calibrated scorer follows the diagonal)",
        )  # fmt: skip
        top = float(max(deciles["mean_predicted_probability"].max(), deciles["observed_default_rate"].max()))
        fig.add_shape(type="line", x0=0, y0=0, x1=top, y1=top, line={"dash": "dot", "color": "grey"})
        chart(fig, x="Mean predicted probability (share)", y="Observed default rate (share)")

    registry = load(snapshot, "model_registry")
    if registry is None:
        not_published("Champion vs challengers (model_registry)")
    else:
        st.subheader("Champion vs challengers (out-of-time test metrics)")
        st.dataframe(registry, hide_index=True)


def _performance_charts(cohorts: pd.DataFrame, weeks: pd.DataFrame | None) -> None:
    judged = cohorts[cohorts["scorer"].isin(SCORERS)].assign(scorer=lambda f: f["scorer"].map(SCORERS))
    for metric in ("auc", "gini"):
        fig = px.line(
            judged, x="cohort_start", y=metric, color="scorer", markers=True,
            title=f"{metric.upper()} by matured cohort: model vs rule score",
        )  # fmt: skip
        chart(fig, x="Score date of the cohort", y=f"{metric.upper()} (unitless)")
    if weeks is not None and not weeks.empty:
        weekly = weeks[weeks["scorer"].isin(SCORERS)].assign(scorer=lambda f: f["scorer"].map(SCORERS))
        fig = px.line(
            weekly, x="cohort_start", y="gini", color="scorer", markers=True,
            title="Weekly Gini trend of matured cohorts: model vs rule score",
        )  # fmt: skip
        chart(fig, x="Week of the cohort (Monday)", y="Gini (unitless)")
    model = cohorts[cohorts["scorer"] == "model"]
    fig = px.scatter(
        model, x="mean_predicted_probability", y="observed_default_rate", hover_data=["cohort_start", "clients"],
        title="Calibration by matured cohort: observed default rate vs mean predicted probability (model)",
    )  # fmt: skip
    chart(fig, x="Mean predicted probability (share)", y="Observed default rate (share)")


# the app

RENDER = {"Portfolio": portfolio_page, "Client": client_page, "Drift": drift_page, "Model": model_page}


def main() -> None:
    st.set_page_config(page_title="riskmart", layout="wide")
    requested = st.query_params.get("page", "portfolio").capitalize()
    page = st.sidebar.radio("Page", PAGES, index=PAGES.index(requested) if requested in PAGES else 0)
    st.query_params["page"] = page.lower()
    folder = publish_dir()
    try:
        snapshot = data.open_snapshot(folder)
    except data.SnapshotError as exc:
        st.error(f"The published snapshot cannot be read: {exc}")
        return
    if snapshot is None:
        st.title("riskmart")
        st.info(f"Nothing is published in {folder} yet: run `riskmart run` first.", icon="ℹ️")
        return
    day = load(snapshot, "latest_score_date")
    st.sidebar.caption(f"Snapshot {snapshot.id}")
    if day is None:
        st.info("The published snapshot holds no scores yet.", icon="ℹ️")
        return
    RENDER[page](snapshot, day)


main()
