"""Ground truth of a demo run: the simulated default events and the true 60-day default probability.

Default events are those the data contract's label sees in the landing files: an invoice of an
exported, non-cancelled order not fully paid 60 days after its due date; a payment plan first
reported `defaulted`; a client first snapshotted `defaulted`.

`pd_next_60d` is computed analytically (no sampling) from the latent state at the month end t:
* a client already in distress at t: its unpaid invoices reach 60 days past due on known days, and
  the lender declares default on the first clients-export day on or after onset + D, with D's
  distribution known and D > (last export on or before t) - onset already observed;
* a client that decided to leave: 0 (it pays its invoices as planned and cannot fall into distress);
* a performing client: sum over the days k = 1..60 of P(distress starts on t + k) times P(an event
  follows by t + 60 | distress on t + k). The daily distress probability is constant within a calendar
  month and depends on next months' logits, which are Gaussian given the state at t (AR(1) client
  risk and macro factor with the same persistence); the expectation over them uses Gauss-Hermite
  quadrature, and the sum over days within a month is a geometric series in closed form.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.polynomial.hermite_e import hermegauss

from demo.model import Simulation

HORIZON = 60
QUADRATURE_NODES = 5
EVENT_KINDS = ("invoice_60dpd", "plan_defaulted", "status_defaulted")


def admin_delay_cdf(sim: Simulation, days: np.ndarray) -> np.ndarray:
    """P(D <= days) for the delay from distress onset to the lender's default declaration."""
    p = sim.params
    days = np.floor(np.asarray(days, dtype=np.float64))
    steps = np.maximum(days - p.admin_delay_min + 1, 0)
    return np.where(days >= p.admin_delay_min, -np.expm1(steps * np.log1p(-p.admin_delay_p)), 0.0)


def default_events(sim: Simulation) -> dict[str, np.ndarray]:
    """Events as the contract's label finds them in the landing files (event day <= last export)."""
    cal = sim.cal
    last = cal.last_export
    inv = (
        (sim.o_status != 1)
        & (sim.o_day >= sim.observable_from)
        & (sim.o_paid >= sim.o_due + HORIZON)
        & (sim.o_due + HORIZON <= last)
    )
    inv_idx = np.nonzero(inv)[0]
    plan = (sim.pl_final == 2) & (sim.pl_update <= last) & (sim.pl_update >= cal.first_export - 29)
    plan_idx = np.nonzero(plan)[0]
    status_idx = np.nonzero(sim.admin <= last)[0]
    client = np.concatenate([sim.o_client[inv_idx], sim.pl_client[plan_idx], status_idx])
    day = np.concatenate(
        [
            sim.o_due[inv_idx] + HORIZON,
            sim.pl_update[plan_idx],
            np.maximum(sim.admin[status_idx], cal.first_export),
        ]
    )
    kind = np.concatenate(
        [
            np.zeros(len(inv_idx), np.int8),
            np.ones(len(plan_idx), np.int8),
            np.full(len(status_idx), 2, np.int8),
        ]
    )
    ref = np.concatenate([inv_idx, plan_idx, np.full(len(status_idx), -1)])
    order = np.lexsort((kind, day, client))
    return {"client": client[order], "day": day[order], "kind": kind[order], "ref": ref[order]}


def _any_per_client(n: int, clients: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[clients] = True
    return out


def client_month_pd(sim: Simulation, events: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per client per month end t for clients registered and neither closed nor defaulted at t."""
    cal, n = sim.cal, sim.n
    billable = (sim.o_status != 1) & (sim.o_day >= sim.observable_from)
    b_client, b_day, b_due = sim.o_client[billable], sim.o_day[billable], sim.o_due[billable]
    b_planned, b_paid = sim.o_planned[billable], sim.o_paid[billable]
    b_unpaid_at_onset = b_planned >= sim.onset[b_client]
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("client", "day", "pd", "in_default", "label")}
    for t in cal.month_ends_in_period():
        t = int(t)
        alive = (sim.reg <= t) & (sim.closed > t) & (sim.admin > t)
        rows = np.nonzero(alive)[0]
        distressed = sim.onset[rows] <= t
        leaving = sim.closing[rows] <= t
        pd = np.zeros(len(rows))

        # already in distress: an unpaid invoice reaching 60 dpd in the window is certain
        window = b_unpaid_at_onset & (b_due + HORIZON > t) & (b_due + HORIZON <= t + HORIZON)
        certain = _any_per_client(n, b_client[window])[rows]
        tau = sim.onset[rows]
        lt = cal.last_clients_export(np.array([t]))[0]
        lh = cal.last_clients_export(np.array([t + HORIZON]))[0]
        f0 = admin_delay_cdf(sim, lt - tau)
        f1 = admin_delay_cdf(sim, lh - tau)
        admin_pd = np.where(f0 < 1, (f1 - f0) / np.maximum(1 - f0, 1e-300), 1.0)
        pd = np.where(distressed, np.where(certain, 1.0, admin_pd), pd)

        perf = ~distressed & ~leaving
        if perf.any():
            # kstar: latest day of the window on which distress still leaves a due invoice unpaid
            open_due = (b_day <= t) & (b_due <= t) & (b_planned > t)
            kstar = np.zeros(n, dtype=np.int64)
            np.maximum.at(kstar, b_client[open_due], np.minimum(b_planned[open_due] - t, HORIZON))
            pd[perf] = _performing_pd(sim, rows[perf], t, kstar[rows[perf]], lh - t)

        overdue = (b_due + HORIZON <= t) & (b_paid > t)
        in_default = _any_per_client(n, b_client[overdue])[rows]
        in_window = (events["day"] > t) & (events["day"] <= t + HORIZON)
        hit = _any_per_client(n, events["client"][in_window])[rows]
        matured = t + HORIZON <= cal.last_export
        label = np.where(hit, 1, 0) if matured else np.full(len(rows), -1)
        out["client"].append(rows)
        out["day"].append(np.full(len(rows), t))
        out["pd"].append(np.clip(pd, 0.0, 1.0))
        out["in_default"].append(in_default)
        out["label"].append(label)
    return {k: np.concatenate(v) if v else np.array([]) for k, v in out.items()}


def _performing_pd(
    sim: Simulation, rows: np.ndarray, t: int, kstar: np.ndarray, big_lambda: int
) -> np.ndarray:
    p, cal = sim.params, sim.cal
    m = int(cal.month_of(t))
    # window segments: the calendar months after t, cut at t + 60
    seg = []
    k, j = 1, 1
    while k <= HORIZON:
        length = int(cal.month_len[m + j])
        seg.append((j, k, min(k + length - 1, HORIZON), length))
        k += length
        j += 1
    nodes, weights = hermegauss(QUADRATURE_NODES)
    weights = weights / weights.sum()
    s = np.sqrt(p.sigma_client**2 + (p.beta_macro * p.sigma_macro) ** 2)
    mu, z = sim.mu[rows], sim.z[rows, m]
    log_keep = np.log1p(-p.closure_daily)  # log P(no closure on a day)
    log_rho = np.log1p(-p.admin_delay_p)
    k1 = big_lambda - p.admin_delay_min  # P(declared by t + 60 | distress on t + k) > 0 only for k <= k1
    ks = kstar[:, None]
    # the logit deviation of month j is s * e_j with e_j = phi * e_(j-1) + xi_j: the grid of month j
    # holds every combination of the first j nodes (month 1 depends on xi_1 only, and so on)
    e = np.zeros(1)
    w = np.ones(1)
    survive = np.ones((len(rows), 1))
    total = np.zeros((len(rows), 1))
    n_nodes = len(nodes)
    for j, a, b, length in seg:
        e = (p.phi * e[:, None] + nodes[None, :]).ravel()
        w = (w[:, None] * weights[None, :]).ravel()
        survive = np.repeat(survive, n_nodes, axis=1)
        total = np.repeat(total, n_nodes, axis=1)
        mean = mu + p.phi**j * (z - mu) + p.beta_macro * p.phi**j * sim.macro[m] + sim.shock[m + j]
        x = mean[:, None] + s * e[None, :]
        log_no_distress = -np.logaddexp(0.0, x) / length  # log(1 - q), q the daily distress probability
        lr = log_keep + log_no_distress  # log r, r = P(neither event on a day)
        h = np.exp(log_keep) * -np.expm1(log_no_distress)
        denom = np.expm1(lr)
        ones = _geo(lr, denom, np.minimum(b, ks) - a + 1)
        lo = np.maximum(a, ks + 1)
        cnt = np.minimum(b, k1) - lo + 1
        lg = lr - log_rho
        expo = np.maximum(big_lambda - p.admin_delay_min + 1 - lo, 0)
        tail = np.exp((lo - a) * lr) * (
            _geo(lr, denom, cnt) - np.exp(expo * log_rho) * _geo(lg, np.expm1(lg), cnt)
        )
        total += survive * h * (ones + np.where(cnt > 0, tail, 0.0))
        survive = survive * np.exp((b - a + 1) * lr)
    return total @ w


def _geo(log_x: np.ndarray, x_minus_1: np.ndarray, count: np.ndarray) -> np.ndarray:
    """sum_{i < count} x**i from log x and x - 1, stable near x = 1; 0 for count <= 0."""
    count = np.maximum(count, 0)
    near = np.abs(log_x) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.expm1(count * log_x) / np.where(near, 1.0, x_minus_1)
    return np.where(near, count + 0.0 * log_x, val)


def write_truth(sim: Simulation, truth: Path) -> dict[str, int]:
    """client_month_pd.csv and default_events.csv in `truth`; returns row counts."""
    truth.mkdir(parents=True, exist_ok=True)
    events = default_events(sim)
    rows = client_month_pd(sim, events)
    ids = sim.client_ids
    label = rows["label"]
    pd_table = pa.table(
        {
            "client_id": ids.take(pa.array(rows["client"].astype(np.int64))),
            "as_of_date": pa.array(rows["day"].astype(np.int32), pa.date32()),
            "pd_next_60d": pa.array(np.round(rows["pd"], 6)),
            "in_default_at_as_of": pa.array(rows["in_default"].astype(np.int8)),
            "default_next_60d": pa.array(label.astype(np.int8), mask=label < 0),
        }
    )
    kinds = np.array(EVENT_KINDS)
    ref = events["ref"]
    inv_ref = sim.invoice_ids.take(pa.array(np.where(events["kind"] == 0, ref, 0)))
    plan_ids = sim.pl_id if len(sim.pl_id) else np.zeros(1, dtype=np.int64)
    plan_ref = pc.cast(pa.array(plan_ids[np.where(events["kind"] == 1, ref, 0)]), pa.string())
    is_inv, is_plan = pa.array(events["kind"] == 0), pa.array(events["kind"] == 1)
    reference = pc.if_else(is_inv, inv_ref, pc.if_else(is_plan, plan_ref, pa.scalar(None, pa.string())))
    ev_table = pa.table(
        {
            "client_id": ids.take(pa.array(events["client"].astype(np.int64))),
            "event_date": pa.array(events["day"].astype(np.int32), pa.date32()),
            "kind": pa.array(kinds[events["kind"]].tolist(), pa.string()),
            "reference": reference,
        }
    )
    for table, name in ((pd_table, "client_month_pd.csv"), (ev_table, "default_events.csv")):
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        (truth / name).write_bytes((",".join(table.column_names) + "\n").encode() + buf.getvalue())
    return {"client_month_pd": pd_table.num_rows, "default_events": ev_table.num_rows}


def event_counts(sim: Simulation) -> dict[str, int]:
    kinds = default_events(sim)["kind"]
    return {name: int((kinds == i).sum()) for i, name in enumerate(EVENT_KINDS)}
