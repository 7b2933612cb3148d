"""The demo generator: determinism, the data contract, the dirty kinds, the shift and the ground truth.

The landing folders are read back with the standard library's csv and json modules and checked rule by
rule against contract/__init__.py, so the checks do not share code with the writer.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import contract
from demo.calendar import NEVER
from demo.dirty import applicable_kinds
from demo.generate import LandingNotEmptyError, generate_demo_data
from demo.model import INDUSTRIES, simulate
from demo.truth import HORIZON, admin_delay_cdf, client_month_pd, default_events

END = date(2026, 3, 31)
SMALL = {"clients": 150, "months": 4, "end_date": END}


def _generate(root: Path, seed: int = 11, dirty_rate: float = 0.0, shift_months: int = 0) -> dict:
    return generate_demo_data(
        landing=root / "landing",
        truth=root / "truth",
        seed=seed,
        dirty_rate=dirty_rate,
        shift_months=shift_months,
        **SMALL,
    )


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean")
    return root, _generate(root)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("dirty")
    return root, _generate(root, dirty_rate=0.03)


# reading a landing folder back ------------------------------------------------------------------------


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _files(landing: Path, table: str) -> list[tuple[date, Path]]:
    out = []
    for path in sorted((landing / table).iterdir()):
        m = contract.CSV_FILE_PATTERN.match(path.name)
        assert m and m["table"] == table, path
        out.append((date.fromisoformat(m["date"]), path))
    return out


def _parse(col: contract.Column, value: str):
    """The typed value, or raise ValueError when the text is not of the column's type."""
    if col.type == contract.INTEGER:
        return int(value)
    if col.type == contract.FLOAT:
        return float(value)
    if col.type == contract.DATE:
        return date.fromisoformat(value)
    if col.type == contract.TIMESTAMP:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value), value
        return datetime.fromisoformat(value)
    return value


def _violations(
    spec: contract.TableSpec, row: dict[str, str], file_date: date, clients: set[str]
) -> list[str]:
    """The dirty-row kinds a row falls under (empty for a valid row), by the contract's rules."""
    typed, found = {}, []
    for col in spec.columns:
        text = row[col.name]
        if text == "":
            if col.required:
                found.append("missing_required")
            typed[col.name] = None
            continue
        try:
            typed[col.name] = _parse(col, text)
        except (ValueError, AssertionError):
            is_number = col.type in (contract.INTEGER, contract.FLOAT)
            found.append("unparseable_number" if is_number else "unparseable_date")
            typed[col.name] = None
    for col in spec.columns:
        value = typed[col.name]
        if value is None:
            continue
        if col.accepted_values and value not in col.accepted_values:
            found.append("value_not_allowed")
        if col.min_value is not None and (
            value <= col.min_value if col.strict_min else value < col.min_value
        ):
            found.append("negative_amount")
        if col.not_after_file_date and value > file_date:
            found.append("date_after_file_date")
    for a, b in spec.ordered_pairs:
        if typed[a] is not None and typed[b] is not None and typed[a] < typed[b]:
            is_date = spec.column(a).type == contract.DATE
            found.append(f"{a}_before_{b}" if is_date else f"{a}_below_{b}")
    if spec.client_must_exist and typed["client_id"] is not None and typed["client_id"] not in clients:
        found.append("unknown_client")
    return found


@pytest.fixture(scope="module")
def clean_tables(clean) -> dict[str, list[tuple[date, list[dict[str, str]]]]]:
    landing = clean[0] / "landing"
    return {t: [(d, _read_csv(p)[1]) for d, p in _files(landing, t)] for t in contract.CSV_TABLES_BY_NAME}


# determinism ------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_other_seed_other_bytes(clean, tmp_path):
    again = _generate(tmp_path / "again")
    other = _generate(tmp_path / "other", seed=12)
    first = _digests(clean[0] / "landing") | {
        f"truth/{k}": v for k, v in _digests(clean[0] / "truth").items()
    }
    second = _digests(tmp_path / "again" / "landing") | {
        f"truth/{k}": v for k, v in _digests(tmp_path / "again" / "truth").items()
    }
    assert first == second
    assert {k: v for k, v in again.items() if k not in ("seconds", "landing", "truth")} == {
        k: v for k, v in clean[1].items() if k not in ("seconds", "landing", "truth")
    }
    third = _digests(tmp_path / "other" / "landing")
    shared = set(first) & set(third)
    assert sum(first[k] != third[k] for k in shared) > 0.9 * len(shared)
    assert other["rows"] != clean[1]["rows"]


def test_refuses_a_landing_folder_that_holds_files(clean, tmp_path):
    before = _digests(clean[0] / "landing")
    with pytest.raises(LandingNotEmptyError, match="not empty"):
        _generate(clean[0])
    assert _digests(clean[0] / "landing") == before
    with pytest.raises(ValueError, match="outside the landing"):
        generate_demo_data(tmp_path / "l", tmp_path / "l" / "truth", 10, 1, END, 1, 0.0, 0)


# the data contract ------------------------------------------------------------------------------------


def test_layout_names_and_headers(clean):
    landing = clean[0] / "landing"
    assert {p.name for p in landing.iterdir()} == set(contract.CSV_TABLES_BY_NAME) | {contract.HCPN_FOLDER}
    first, last = date(2025, 12, 1), END
    for spec in contract.CSV_TABLES:
        files = _files(landing, spec.name)
        days = [d for d, _ in files]
        assert days[0] == first and days[-1] == last
        assert len(days) < (last - first).days + 1, (
            f"{spec.name}: no outage day, consumers could rely on cadence"
        )
        for _, path in files:
            header, _ = _read_csv(path)
            assert header == list(spec.column_names), path
            assert path.read_bytes().decode("utf-8")
    for path in (landing / "hcpn").iterdir():
        assert contract.HCPN_FILE_PATTERN.match(path.name)


def test_clean_rows_follow_every_rule(clean_tables):
    clients = {r["client_id"] for _, rows in clean_tables["clients"] for r in rows}
    for spec in contract.CSV_TABLES:
        for file_date, rows in clean_tables[spec.name]:
            for row in rows:
                assert _violations(spec, row, file_date, clients) == [], (spec.name, file_date, row)
            for key in spec.unique_within_file:
                values = [r[key] for r in rows]
                assert len(values) == len(set(values)), (spec.name, file_date)


def test_export_windows(clean_tables):
    for file_date, rows in clean_tables["payments"]:
        for r in rows:
            paid, due = date.fromisoformat(r["payment_date"]), date.fromisoformat(r["due_date"])
            assert file_date - timedelta(days=6) <= paid <= file_date
            assert int(r["days_past_due"]) == (paid - due).days
    for file_date, rows in clean_tables["orders"]:
        for r in rows:
            ordered = date.fromisoformat(r["order_date"])
            assert file_date - timedelta(days=6) <= ordered <= file_date
            assert date.fromisoformat(r["due_date"]) >= ordered
    for file_date, rows in clean_tables["utilization_monthly"]:
        for r in rows:
            month = date.fromisoformat(r["month"])
            assert month.day == 1 and file_date - timedelta(days=59) <= month <= file_date
            expected = 100 * float(r["avg_outstanding"]) / float(r["credit_limit"])
            assert abs(float(r["utilization_pct"]) - expected) < 0.006
    for file_date, rows in clean_tables["payment_plans"]:
        for r in rows:
            created, updated = (datetime.fromisoformat(r[c]).date() for c in ("created_at", "updated_at"))
            assert file_date - timedelta(days=29) <= max(created, updated) <= file_date
            assert (r["completion_date"] != "") == (r["plan_status"] == "completed")


def test_overlapping_windows_restatements_and_history(clean_tables):
    # a payment shows up in every file of its 7-day window
    seen: dict[str, list[date]] = defaultdict(list)
    for file_date, rows in clean_tables["payments"]:
        for r in rows:
            seen[r["payment_id"]].append(file_date)
    export_days = [d for d, _ in clean_tables["payments"]]
    first_export, last_export = export_days[0], export_days[-1]
    copies = Counter(len(v) for v in seen.values())
    assert max(copies) == 7 and copies[7] > len(seen) / 2
    paid_on = {
        r["payment_id"]: date.fromisoformat(r["payment_date"])
        for _, rows in clean_tables["payments"]
        for r in rows
    }
    for pid, days in seen.items():
        paid = paid_on[pid]
        window = [d for d in export_days if paid <= d <= paid + timedelta(days=6)]
        assert days == window or paid < first_export or paid + timedelta(days=6) > last_export
    # a month's utilization is restated while open, then frozen
    versions: dict[str, set] = defaultdict(set)
    for _, rows in clean_tables["utilization_monthly"]:
        for r in rows:
            versions[r["id"]].add((r["avg_outstanding"], r["max_outstanding"]))
    assert sum(len(v) > 5 for v in versions.values()) > 50
    # plans are re-reported with a new status and a newer updated_at
    states: dict[str, set] = defaultdict(set)
    for _, rows in clean_tables["payment_plans"]:
        for r in rows:
            states[r["plan_id"]].add((r["plan_status"], r["updated_at"]))
    changed = [s for s in states.values() if len(s) > 1]
    assert changed and all(len({u for _, u in s}) == len(s) for s in changed)
    assert {st for s in changed for st, _ in s} >= {"active", "completed"}
    # daily snapshots carry each client's history: status and limit changes, new registrations
    history: dict[str, list[tuple]] = defaultdict(list)
    for _, rows in clean_tables["clients"]:
        for r in rows:
            history[r["client_id"]].append((r["account_status"], r["current_credit_limit"], r["updated_at"]))
    transitions = Counter()
    for h in history.values():
        for (s0, *_), (s1, *_) in zip(h, h[1:], strict=False):
            if s0 != s1:
                transitions[(s0, s1)] += 1
    assert {("active", "suspended"), ("suspended", "active")} <= set(transitions)
    assert any(s1 == "defaulted" for _, s1 in transitions) and any(s1 == "closed" for _, s1 in transitions)
    assert sum(len({lim for _, lim, _ in h}) > 1 for h in history.values()) > 3
    first_clients = {r["client_id"] for r in clean_tables["clients"][0][1]}
    assert 0 < len(set(history) - first_clients) < len(first_clients)


def test_orders_invoices_and_payments_fit_together(clean_tables):
    orders = {r["invoice_id"]: r for _, rows in clean_tables["orders"] for r in rows}
    payments = {r["payment_id"]: r for _, rows in clean_tables["payments"] for r in rows}
    by_invoice: dict[str, list[dict]] = defaultdict(list)
    for p in payments.values():
        by_invoice[p["invoice_id"]].append(p)
    known = [inv for inv in by_invoice if inv in orders]
    assert len(known) > 0.6 * len(by_invoice)  # the rest belong to orders older than the first export
    for inv in known:
        order = orders[inv]
        assert order["order_status"] != "cancelled"
        assert all(
            p["client_id"] == order["client_id"] and p["due_date"] == order["due_date"]
            for p in by_invoice[inv]
        )
        assert sum(float(p["payment_amount"]) for p in by_invoice[inv]) <= float(order["order_value"])
    assert sum(len(v) > 1 for v in by_invoice.values()) > 10  # partial payments
    statuses = Counter(o["order_status"] for o in orders.values())
    assert statuses["completed"] > 0.9 * len(orders) and statuses["cancelled"] > 0


def test_bureau_reports(clean):
    landing = clean[0] / "landing"
    clients = {r["client_id"]: r for r in _read_csv(sorted((landing / "clients").iterdir())[-1])[1]}
    reports = {}
    for path in (landing / "hcpn").iterdir():
        client_id = contract.HCPN_FILE_PATTERN.match(path.name)["client_id"]
        reports[client_id] = json.loads(path.read_text(encoding="utf-8"))
    assert set(reports) <= set(clients) and len(reports) > 0.9 * len(clients)
    for client_id, rep in reports.items():
        assert set(rep) - {"defaults_bureau"} == set(contract.HCPN_COLUMNS) - {"client_id", "defaults_bureau"}
        assert date.fromisoformat(rep["fecha_consulta"]) <= END
        assert rep["estado_solicitud"] in contract.BUREAU_DECISIONS
        assert (rep["motivo_rechazo"] is not None) == (rep["estado_solicitud"] == "rechazado")
        assert rep["puntaje_credito"] is None or 0 <= rep["puntaje_credito"] <= 1000
        registered = date.fromisoformat(clients[client_id]["registration_date"])
        assert date.fromisoformat(rep["fecha_consulta"]) >= registered - timedelta(days=10)
    assert any("defaults_bureau" not in r for r in reports.values())


# dirty data -------------------------------------------------------------------------------------------


def test_dirty_landing_holds_every_kind_as_extra_rows(clean, dirty):
    clean_landing, landing, summary = clean[0] / "landing", dirty[0] / "landing", dirty[1]
    clients = set()
    for _, path in _files(clean_landing, "clients"):
        clients |= {r["client_id"] for r in _read_csv(path)[1]}
    found: Counter = Counter()
    bad_files = {}
    for spec in contract.CSV_TABLES:
        for file_date, path in _files(landing, spec.name):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad_files["not_csv"] = path.relative_to(landing).as_posix()
                continue
            header, rows = _read_csv(path)
            if header != list(spec.column_names):
                bad_files["wrong_header"] = path.relative_to(landing).as_posix()
                continue
            keys = Counter(r[k] for k in spec.unique_within_file for r in rows if r[k] != "")
            for n in keys.values():
                if n > 1:
                    found[(spec.name, f"duplicate_{spec.unique_within_file[0]}")] += n
            for row in rows:
                for kind in _violations(spec, row, file_date, clients):
                    found[(spec.name, kind)] += 1
            # the clean file is still all there, in order: dirty rows are extra lines
            clean_path = clean_landing / spec.folder / path.name
            clean_lines = clean_path.read_text(encoding="utf-8").splitlines()
            it = iter(text.splitlines())
            assert all(line in it for line in clean_lines), path
    for path in (landing / "hcpn").iterdir():
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            bad_files["invalid_json"] = path.relative_to(landing).as_posix()
    assert bad_files == summary["dirty_files"]
    by_table = summary["dirty_rows_by_table"]
    expected = {(t, k): n for t, kinds in by_table.items() if t != "files" for k, n in kinds.items()}
    assert dict(found) == expected
    for spec in contract.CSV_TABLES:
        assert set(applicable_kinds(spec)) == {k for t, k in found if t == spec.name}, spec.name
    total_kinds = {k for _, k in found}
    assert total_kinds >= {
        "missing_required",
        "unparseable_number",
        "unparseable_date",
        "value_not_allowed",
        "negative_amount",
        "date_after_file_date",
        "duplicate_client_id",
        "unknown_client",
        "due_date_before_order_date",
        "max_outstanding_below_avg_outstanding",
        "plan_end_date_before_plan_start_date",
    }
    clean_rows = sum(clean[1]["rows"][t] for t in contract.CSV_TABLES_BY_NAME)
    dirty_rows = sum(n for k, n in summary["dirty_rows"].items() if k not in bad_files)
    assert 0.015 < dirty_rows / clean_rows < 0.05


def test_summary_matches_the_files(clean):
    root, summary = clean
    landing = root / "landing"
    for spec in contract.CSV_TABLES:
        files = _files(landing, spec.name)
        assert summary["files"][spec.name] == len(files)
        assert summary["rows"][spec.name] == sum(len(_read_csv(p)[1]) for _, p in files)
    assert summary["files"]["hcpn"] == len(list((landing / "hcpn").iterdir()))
    events = _read_csv(root / "truth" / "default_events.csv")[1]
    assert summary["default_events"] == {
        k: sum(e["kind"] == k for e in events) for k in summary["default_events"]
    }
    assert summary["dirty_rows"] == {} and summary["dirty_files"] == {}
    assert json.loads(json.dumps(summary)) == summary


# distribution shift -----------------------------------------------------------------------------------


def test_shift_raises_risk_in_the_last_months():
    base = simulate(2000, 12, END, seed=5, shift_months=3)
    calm = simulate(2000, 12, END, seed=5, shift_months=0)
    start = int(base.cal.month_start[base.cal.shift_start_month])

    def late_share(sim):
        late = (sim.o_day >= start) & (sim.o_status != 1)
        return np.mean(sim.o_planned[late] > sim.o_due[late])

    assert late_share(base) > late_share(calm) + 0.03
    new = base.reg >= start
    risky = [i for i, (name, *_) in enumerate(INDUSTRIES) if name in ("construction", "food_service")]
    assert np.isin(base.industry[new], risky).mean() > np.isin(calm.industry[new], risky).mean() + 0.1
    assert new.sum() > (calm.reg >= start).sum()

    # clients draw harder on their lines: value ordered in the shift against the same length of time before
    def drawn_growth(sim):
        length = int(sim.o_day.max()) + 1 - start
        ordered = sim.o_status != 1

        def value(lo, hi):
            return sim.o_value[ordered & (sim.o_day >= lo) & (sim.o_day < hi)].sum()

        return value(start, start + length) / value(start - length, start)

    assert drawn_growth(base) > 1.5 * drawn_growth(calm)
    recent = base.b_day >= start
    assert np.nanmean(base.b_score[recent]) < np.nanmean(calm.b_score[recent]) - 20
    pd_base, pd_calm = (client_month_pd(s, default_events(s)) for s in (base, calm))
    last = pd_base["day"] == pd_base["day"].max()
    assert pd_base["pd"][last].mean() > 1.3 * pd_calm["pd"][pd_calm["day"] == pd_calm["day"].max()].mean()


# ground truth -----------------------------------------------------------------------------------------


def _label_events_from_landing(landing: Path) -> Counter:
    """The contract's default events, computed from the landing files alone."""
    tables = {t: [(d, _read_csv(p)[1]) for d, p in _files(landing, t)] for t in contract.CSV_TABLES_BY_NAME}
    last = max(d for d, _ in tables["clients"])
    orders = {r["order_id"]: r for _, rows in tables["orders"] for r in rows}
    payments = {r["payment_id"]: r for _, rows in tables["payments"] for r in rows}
    paid: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for p in payments.values():
        paid[p["invoice_id"]].append((date.fromisoformat(p["payment_date"]), float(p["payment_amount"])))
    events: Counter = Counter()
    for o in orders.values():
        if o["order_status"] == "cancelled":
            continue
        deadline = date.fromisoformat(o["due_date"]) + timedelta(days=HORIZON)
        by_then = sum(a for d, a in paid[o["invoice_id"]] if d < deadline)
        if deadline <= last and by_then < float(o["order_value"]):
            events[(o["client_id"], deadline, "invoice_60dpd")] += 1
    first_default: dict[str, date] = {}
    for _, rows in tables["payment_plans"]:
        for r in rows:
            if r["plan_status"] == "defaulted":
                when = datetime.fromisoformat(r["updated_at"]).date()
                first_default[r["plan_id"]] = min(first_default.get(r["plan_id"], when), when)
    plan_client = {r["plan_id"]: r["client_id"] for _, rows in tables["payment_plans"] for r in rows}
    for plan_id, when in first_default.items():
        events[(plan_client[plan_id], when, "plan_defaulted")] += 1
    status_first: dict[str, date] = {}
    for file_date, rows in tables["clients"]:
        for r in rows:
            if r["account_status"] == "defaulted" and r["client_id"] not in status_first:
                status_first[r["client_id"]] = file_date
    for client_id, when in status_first.items():
        events[(client_id, when, "status_defaulted")] += 1
    return events


def test_default_events_are_the_contract_label_of_the_landing(clean):
    root = clean[0]
    truth = Counter(
        (e["client_id"], date.fromisoformat(e["event_date"]), e["kind"])
        for e in _read_csv(root / "truth" / "default_events.csv")[1]
    )
    assert truth == _label_events_from_landing(root / "landing")
    assert {k for _, _, k in truth} == {"invoice_60dpd", "plan_defaulted", "status_defaulted"}


def test_truth_rows_are_the_clients_active_at_each_month_end(clean, clean_tables):
    root = clean[0]
    header, rows = _read_csv(root / "truth" / "client_month_pd.csv")
    assert header[:3] == ["client_id", "as_of_date", "pd_next_60d"]
    keys = [(r["client_id"], r["as_of_date"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert all(0.0 <= float(r["pd_next_60d"]) <= 1.0 for r in rows)
    month_ends = sorted({date.fromisoformat(r["as_of_date"]) for r in rows})
    assert month_ends == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    snapshots = dict(clean_tables["clients"])
    compared = 0
    for t in month_ends:
        if t not in snapshots:
            continue
        active = {r["client_id"] for r in snapshots[t] if r["account_status"] in ("active", "suspended")}
        assert {c for c, d in keys if d == t.isoformat()} == active
        compared += 1
    assert compared >= 2
    matured = [r for r in rows if r["default_next_60d"] != ""]
    assert {date.fromisoformat(r["as_of_date"]) for r in matured} == {date(2025, 12, 31)}  # t + 60 <= end


@pytest.fixture(scope="module")
def big_truth():
    sim = simulate(3000, 14, END, seed=3)
    events = default_events(sim)
    return sim, events, client_month_pd(sim, events)


def test_pd_is_calibrated_and_ranks_the_realized_defaults(big_truth):
    _, _, rows = big_truth
    scored = (rows["label"] >= 0) & ~rows["in_default"]
    pd, label = rows["pd"][scored], rows["label"][scored]
    assert scored.sum() > 20_000
    assert 0.015 < label.mean() < 0.06  # a few percent of active clients default within 60 days
    se = np.sqrt(np.sum(pd * (1 - pd))) / len(pd)
    assert abs(pd.mean() - label.mean()) < 4 * se + 0.002
    assert roc_auc_score(label, pd) > 0.8
    # calibrated across the range too: deciles of pd against realized rates
    order = np.argsort(pd)
    for chunk in np.array_split(order, 5):
        expected, realized = pd[chunk].mean(), label[chunk].mean()
        assert abs(expected - realized) < 4 * np.sqrt(expected * (1 - expected) / len(chunk)) + 0.003


def test_pd_matches_a_monte_carlo_of_the_model(big_truth):
    """An independent simulation of the next 60 days from the state at one month end: day-by-day
    closure and distress draws, client and macro innovations drawn separately, the lender's delay,
    and the invoices' planned payments."""
    sim, _, rows = big_truth
    p, cal = sim.params, sim.cal
    rng = np.random.default_rng(0)
    t = int(cal.month_ends_in_period()[-4])
    at_t = rows["day"] == t
    clients, pd = rows["client"][at_t], rows["pd"][at_t]
    pick = rng.choice(len(clients), 300, replace=False)
    clients, pd = clients[pick], pd[pick]
    paths = 2500
    m = int(cal.month_of(t))
    z = np.repeat(sim.z[clients, m][:, None], paths, axis=1)
    mu = sim.mu[clients][:, None]
    macro = np.full(paths, sim.macro[m])
    onset = np.where(sim.onset[clients] <= t, sim.onset[clients], NEVER)[:, None] + np.zeros(paths, np.int64)
    leaving = (sim.closing[clients] <= t)[:, None] & np.ones(paths, bool)
    day, month = t + 1, m
    while day <= t + HORIZON:
        month += 1
        z = mu + p.phi * (z - mu) + p.sigma_client * rng.standard_normal(z.shape)
        macro = p.phi * macro + p.sigma_macro * rng.standard_normal(paths)
        x = z + p.beta_macro * macro[None, :] + sim.shock[month]
        q = 1 - (1 - 1 / (1 + np.exp(-x))) ** (1 / cal.month_len[month])
        for _ in range(int(cal.month_len[month])):
            if day > t + HORIZON:
                break
            live = (onset == NEVER) & ~leaving
            u = rng.random(z.shape)
            leaving |= live & (u < p.closure_daily)
            start = live & (u >= p.closure_daily) & (rng.random(z.shape) < q)
            onset = np.where(start, day, onset)
            day += 1
    # the lender's declaration: D given that it had not come by the last snapshot on or before t
    last_t = cal.last_clients_export(np.array([t]))[0]
    delay = np.full(onset.shape, -1)
    need = onset < NEVER
    while need.any():
        draw = p.admin_delay_min + rng.geometric(p.admin_delay_p, onset.shape) - 1
        ok = need & (onset + draw > last_t)
        delay = np.where(ok, draw, delay)
        need &= ~ok
    declared = cal.next_clients_export(np.where(onset < NEVER, onset + delay, 0))
    event = (onset < NEVER) & (declared <= t + HORIZON)
    billable = (sim.o_status != 1) & (sim.o_day >= sim.observable_from) & (sim.o_day <= t)
    for k, c in enumerate(clients):
        mine = (
            billable & (sim.o_client == c) & (sim.o_due + HORIZON > t) & (sim.o_due + HORIZON <= t + HORIZON)
        )
        for planned in sim.o_planned[mine]:
            event[k] |= onset[k] <= planned  # distress before the last payment leaves the invoice unpaid
    mc = event.mean(axis=1)
    se = np.sqrt(np.maximum(mc * (1 - mc), 1e-4) / paths)
    assert abs(mc.mean() - pd.mean()) < 0.002
    assert np.all(np.abs(mc - pd) < 5 * se + 0.002), np.max(np.abs(mc - pd) / (5 * se + 0.002))


def test_admin_delay_cdf():
    sim = simulate(5, 1, END, seed=1)
    p = sim.params
    days = np.arange(0, 400)
    cdf = admin_delay_cdf(sim, days)
    draws = p.admin_delay_min + np.random.default_rng(1).geometric(p.admin_delay_p, 200_000) - 1
    empirical = (draws[:, None] <= days[None, ::40]).mean(axis=0)
    assert np.allclose(cdf[::40], empirical, atol=0.005)
    assert cdf[p.admin_delay_min - 1] == 0 and cdf[-1] > 0.99


def test_a_tiny_dirty_rate_still_brings_every_kind(tmp_path):
    summary = generate_demo_data(tmp_path / "landing", tmp_path / "truth", 40, 2, END, 3, 0.0002, 0)
    for spec in contract.CSV_TABLES:
        assert set(summary["dirty_rows_by_table"][spec.name]) == set(applicable_kinds(spec)), spec.name
    assert set(summary["dirty_files"]) == {"wrong_header", "not_csv", "invalid_json"}


def test_reused_rows_are_byte_identical_to_formatting_each_file(tmp_path):
    """Files are assembled from pre-formatted client versions, payments, orders and closed months."""
    from demo.export import LandingWriter, _csv_body

    sim = simulate(200, 3, END, seed=9, shift_months=1)
    writer = LandingWriter(sim, tmp_path, 0.0)
    writer._format_all()
    for d in sim.cal.export_days["clients"][::3].tolist():
        snapshot = writer.clients(d)
        assert writer._clients_body(d) == (snapshot.num_rows, _csv_body(snapshot, "clients"))
        table = writer.utilization(d)
        assert writer._util_body(d) == (table.num_rows, _csv_body(table, "utilization_monthly"))
        for name in ("payments", "orders"):
            rows, body = writer._window_body(name, d)
            table = writer.builders[name](d)
            assert (rows, bytes(body)) == (table.num_rows, _csv_body(table, name))
