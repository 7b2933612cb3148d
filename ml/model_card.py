"""A short Markdown model card: what the model is for, what it learned from, how well it does out of time."""

from __future__ import annotations

ROWS = (
    ("auc", "AUC", "higher is better"),
    ("gini", "Gini", "2·AUC − 1"),
    ("ks", "KS", "max gap between the score distributions of defaults and non-defaults"),
    ("pr_auc", "PR-AUC", "average precision; compare with the default rate"),
    ("brier", "Brier", "mean squared error of the probability; lower is better"),
    ("ece", "ECE", "expected calibration error, 10 equal-count bins; lower is better"),
    ("calibration_slope", "calibration slope", "1 is perfect"),
    ("calibration_intercept", "calibration intercept", "0 is perfect"),
)


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def render_model_card(card: dict) -> str:
    """`card` holds version, trained_at, as_of_date, split, metrics (model, baseline, truth, champion),
    features (FeatureSet JSON), params, best_iteration, calibration, promotion."""
    metrics = card["metrics"]
    model, baseline, truth = metrics["model"], metrics.get("baseline"), metrics.get("truth")
    split = card["split"]
    lines = [
        f"# Model card: {card['model_version']}",
        "",
        f"*Trained {card['trained_at']} (UTC) on data as of {card['as_of_date']}; status: **{card['status']}**.*",
        "",
        "## Purpose",
        "Probability that a B2B credit client has a default event (an invoice 60+ days past due, a defaulted",
        "payment plan or a defaulted account) in the 60 days after the feature date. It ranks and prices the",
        "portfolio daily; the scored mart blends it with the rule-based score by client segment. It is not a",
        "credit decision on its own.",
        "",
        "## Data and out-of-time split",
        "Rows of `marts.ml_training_set` (matured labels, clients not already in default), split by whole",
        "feature dates: train on the oldest, early-stop and calibrate on the next, test on the latest.",
        "",
        "| part | feature dates | dates | rows | defaults |",
        "|---|---|---|---|---|",
    ]
    for part in ("train", "valid", "test"):
        s = split[part]
        lines.append(f"| {part} | {s['start']} … {s['end']} | {s['dates']} | {s['rows']} | {s['defaults']} |")
    lines += [
        "",
        "## Out-of-time performance (test dates)",
        "",
        "| metric | model | rule-based score | meaning |",
        "|---|---|---|---|",
    ]
    for key, label, meaning in ROWS:
        lines.append(
            f"| {label} | {_fmt(model[key])} | {_fmt(baseline[key] if baseline else None)} | {meaning} |"
        )
    lines.append("")
    if baseline:
        lines.append(f"AUC gain over the rule-based score: {model['auc'] - baseline['auc']:+.4f}.")
    if truth:
        lines.append(
            f"Ground truth (demo generator's true probabilities) on {truth['n']} of the test rows: AUC"
            f" {truth['truth_auc']:.4f}; the model's AUC on the same rows {truth['model_auc']:.4f},"
            f" {100 * truth['ratio']:.1f} % of the best achievable."
        )
    champion = metrics.get("champion")
    lines += ["", "## Promotion", card["promotion_reason"]]
    if champion:
        lines.append(
            f"Champion {champion['model_version']} on the same test rows: AUC {_fmt(champion.get('auc'))}."
        )
    features = card["features"]
    params = {k: v for k, v in card["params"].items() if k != "monotone_constraints"}
    lines += [
        "",
        "## Model",
        f"XGBoost (`hist`), {card['best_iteration'] + 1} trees: of {card['rounds_trained']} trained with early",
        f"stopping on validation AUC (evaluated every {card.get('valid_auc_every', 1)} rounds), the fewest among",
        "the evaluated rounds within 0.001 of the best. Defaults weighted by",
        f"{params['scale_pos_weight']:.2f} (the square root of non-defaults / defaults in training), then",
        f"{card['calibration']} calibration on the validation dates. Parameters: `{params}`.",
        "",
        f"### Features ({len(features['features'])})",
        "| feature | type | monotone |",
        "|---|---|---|",
    ]
    arrows = {1: "↑ never lowers risk", -1: "↓ never raises risk", 0: ""}
    for f in features["features"]:
        kind = f["kind"] + (f" ({len(f['categories'])} levels)" if f["categories"] else "")
        lines.append(f"| `{f['name']}` | {kind} | {arrows[f['monotone']]} |")
    if features["excluded"]:
        lines += ["", "Left out: " + "; ".join(f"`{k}` ({v})" for k, v in features["excluded"].items()) + "."]
    lines += [
        "",
        "## Limits",
        "* Trained on the lender's own history: a shift in the portfolio or the economy degrades it; the",
        "  monitoring marts watch feature and score drift and the performance of matured cohorts.",
        "* Probabilities are calibrated on the validation dates, which precede the test dates; the test",
        "  calibration metrics above show how well that carries forward.",
        "* Reasons are XGBoost's own per-feature contributions to the log-odds (TreeSHAP), not causes.",
        "",
    ]
    return "\n".join(lines)
