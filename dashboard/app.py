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
    alerts = load(snapshot, "alerts")
    if alerts is None:
        not_published("Today's alerts (mon_alerts)")
    elif alerts.empty:
        st.success("No alerts today.")
    else:
        st.error(f"{len(alerts)} alert(s) today")
        st.dataframe(alerts, hide_index=True)

    by = load(snapshot, "portfolio_by_level_and_band", day)
    totals = by.groupby("risk_level", as_index=False)[["clients", "exposure"]].sum(min_count=1)
    cols = st.columns(len(data.RISK_LEVELS) + 2)
    cols[0].metric("Clients scored", f"{int(by['clients'].sum()):,}")
    for col, level in zip(cols[1:-1], data.RISK_LEVELS, strict=True):
        row = totals[totals["risk_level"] == level]
        col.metric(f"{level} risk clients", f"{int(row['clients'].sum()):,}")
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
    if by["exposure"].notna().any():
        st.metric("Exposure (outstanding)", money(by["exposure"].sum()))
        fig = px.bar(
            by,
            x="score_band",
            y="exposure",
            color="risk_level",
            color_discrete_map=LEVEL_COLOURS,
            category_orders={"score_band": list(data.BANDS), "risk_level": list(data.RISK_LEVELS)},
            title=f"Exposure (outstanding) by score band and risk level on {day}",
        )
        chart(fig, x="Score band (A best, F worst)", y="Outstanding (currency units)")
    else:
        not_published("Exposure (outstanding balances, client_history)")

    over_time = load(snapshot, "portfolio_over_time")
    if over_time["score_date"].nunique() > 1:
        fig = px.line(
            over_time,
            x="score_date",
            y="clients",
            color="risk_level",
            color_discrete_map=LEVEL_COLOURS,
            markers=True,
            title="Clients by risk level over time",
        )
        chart(fig, x="Score date", y="Clients (count)")
        if over_time["exposure"].notna().any():
            fig = px.line(
                over_time,
                x="score_date",
                y="exposure",
                color="risk_level",
                color_discrete_map=LEVEL_COLOURS,
                markers=True,
                title="Exposure (outstanding) by risk level over time",
            )
            chart(fig, x="Score date", y="Outstanding (currency units)")
    else:
        st.caption(f"The published scores hold one score date ({day}): no history to draw over time.")

    performance = load(snapshot, "table", data.MODEL_PERFORMANCE)
    rate = _default_rate_frame(performance)
    if rate is None:
        not_published("Default rate of matured cohorts (mon_model_performance)")
    else:
        fig = px.line(
            rate, x="cohort", y="default_rate_pct", markers=True, title="Default rate of matured cohorts"
        )
        chart(fig, x="Score date of the cohort (60-day window matured)", y="Observed default rate (%)")

    st.subheader("Today's recommended actions")
    actions = load(snapshot, "recommended_actions", day)
    st.dataframe(actions.rename(columns={"recommended_action": "action"}), hide_index=True)
    st.dataframe(load(snapshot, "clients_to_act_on", day), hide_index=True)


def _first(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _default_rate_frame(performance: pd.DataFrame | None) -> pd.DataFrame | None:
    if performance is None:
        return None
    cohort = _first(performance, ("cohort_date", "score_date", "feature_date"))
    rate = _first(performance, ("observed_default_rate", "default_rate"))
    if cohort is None or rate is None:
        return None
    frame = performance[[cohort, rate]].drop_duplicates().sort_values(cohort)
    return pd.DataFrame({"cohort": frame[cohort], "default_rate_pct": 100 * frame[rate]})


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
    for column, title, unit in (
        ("payment_amount_30d", "Payments in the last 30 days", "Paid (currency units)"),
        ("overdue_amount", "Overdue amount", "Overdue (currency units)"),
        ("utilization_ratio_now", "Credit limit utilization", "Utilization (share of limit)"),
    ):
        if column in history.columns:
            fig = px.line(history, x="feature_date", y=column, markers=True, title=f"{title}: {query}")
            chart(fig, x="Feature date", y=unit)


# Drift


def drift_page(snapshot: data.Snapshot, day: date) -> None:
    st.header("Drift against the champion's training baseline")
    drift = load(snapshot, "table", data.FEATURE_DRIFT)
    if drift is None:
        not_published("Feature drift (mon_feature_drift)")
        return
    date_col = _first(drift, ("feature_date", "score_date"))
    feature_col = _first(drift, ("feature", "variable", "feature_name"))
    if date_col is None or feature_col is None or "status" not in drift.columns:
        not_published("Feature drift in the expected shape (date, feature, status)")
        return
    order = {"stable": 0, "watch": 1, "alert": 2}
    heat = drift.assign(level=drift["status"].map(order)).pivot_table(
        index=feature_col, columns=date_col, values="level", aggfunc="max"
    )
    latest = drift[drift[date_col] == drift[date_col].max()]
    counts = latest["status"].value_counts()
    c1, c2, c3 = st.columns(3)
    for col, status in zip((c1, c2, c3), ("stable", "watch", "alert"), strict=True):
        col.metric(f"Features {status} (latest date)", int(counts.get(status, 0)))
    fig = px.imshow(
        heat,
        color_continuous_scale=[STATUS_COLOURS["stable"], STATUS_COLOURS["watch"], STATUS_COLOURS["alert"]],
        zmin=0,
        zmax=2,
        aspect="auto",
        title="Feature drift status by date (green stable, amber watch, red alert)",
    )
    fig.update_coloraxes(
        colorbar={"tickvals": [0, 1, 2], "ticktext": ["stable", "watch", "alert"], "title": "status"}
    )
    chart(fig, x="Feature date", y="Feature")

    feature = st.selectbox("Feature", sorted(drift[feature_col].unique()))
    one = drift[drift[feature_col] == feature].sort_values(date_col)
    if "psi" in one.columns:
        fig = px.line(one, x=date_col, y="psi", markers=True, title=f"PSI of {feature} against its baseline")
        chart(fig, x="Feature date", y="Population stability index (PSI, unitless)")
    bins = _distribution_frame(one, date_col)
    if bins is not None:
        fig = px.bar(
            bins, x="bin", y="share_pct", color="distribution", barmode="group",
            title=f"Distribution of {feature}: latest date vs training baseline",
        )  # fmt: skip
        chart(fig, x="Bin of the baseline", y="Share of clients (%)")


def _distribution_frame(one: pd.DataFrame, date_col: str) -> pd.DataFrame | None:
    if not {"bin_label", "current_share", "baseline_share"} <= set(one.columns):
        return None
    latest = one[one[date_col] == one[date_col].max()]
    return pd.concat(
        [
            pd.DataFrame({"bin": latest["bin_label"], "share_pct": 100 * latest["current_share"]}).assign(
                distribution="latest date"
            ),
            pd.DataFrame({"bin": latest["bin_label"], "share_pct": 100 * latest["baseline_share"]}).assign(
                distribution="baseline"
            ),
        ]
    )


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

    performance = load(snapshot, "table", data.MODEL_PERFORMANCE)
    if performance is None:
        not_published("AUC and Gini by matured cohort, calibration (mon_model_performance)")
    else:
        _performance_charts(performance)

    registry = load(snapshot, "table", data.MODEL_REGISTRY)
    if registry is None:
        not_published("Champion vs challengers (model_registry)")
    else:
        st.subheader("Champion vs challengers")
        st.dataframe(registry, hide_index=True)


def _performance_charts(performance: pd.DataFrame) -> None:
    cohort = _first(performance, ("cohort_date", "score_date", "feature_date"))
    pairs = [(m, f"model_{m}", f"rule_{m}") for m in ("auc", "gini")]
    drawn = False
    for metric, model_col, rule_col in pairs:
        if cohort and {model_col, rule_col} <= set(performance.columns):
            long = performance[[cohort, model_col, rule_col]].melt(
                id_vars=cohort, var_name="scorer", value_name=metric
            )
            long["scorer"] = long["scorer"].map({model_col: "model", rule_col: "rule score"})
            fig = px.line(
                long, x=cohort, y=metric, color="scorer", markers=True,
                title=f"{metric.upper()} by matured cohort: model vs rule score",
            )  # fmt: skip
            chart(fig, x="Score date of the cohort", y=f"{metric.upper()} (unitless)")
            drawn = True
    if {"mean_predicted", "observed_default_rate"} <= set(performance.columns):
        fig = px.scatter(
            performance, x="mean_predicted", y="observed_default_rate",
            title="Calibration: observed default rate vs mean predicted probability",
        )  # fmt: skip
        chart(fig, x="Mean predicted probability (share)", y="Observed default rate (share)")
        drawn = True
    if not drawn:
        st.dataframe(performance, hide_index=True)


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
