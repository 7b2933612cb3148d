"""The generative model of the demo lender (documented in demo/README.md).

`simulate()` draws every client's latent risk path, its distress (or voluntary closure), and from
those the orders, invoices, payments, credit limits, account statuses, payment plans and bureau
reports. Everything is vectorized with numpy over clients, client-months, orders or payments; the only
Python loops run over the (few dozen) months of the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import expit

from demo.calendar import NEVER, Calendar, build_calendar

STREAMS = (
    "calendar",
    "clients",
    "risk",
    "distress",
    "limits",
    "orders",
    "invoices",
    "payments",
    "recoveries",
    "admin",
    "plans",
    "bureau",
    "export",
)

# name, share of clients, offset of the monthly distress logit
INDUSTRIES: tuple[tuple[str, float, float], ...] = (
    ("wholesale", 0.18, -0.10),
    ("retail", 0.22, 0.10),
    ("manufacturing", 0.12, -0.20),
    ("construction", 0.09, 0.45),
    ("agriculture", 0.08, 0.25),
    ("transport", 0.08, 0.15),
    ("food_service", 0.08, 0.35),
    ("technology", 0.05, -0.30),
    ("health", 0.06, -0.35),
    ("textiles", 0.04, 0.20),
)
SHIFT_INDUSTRY_BOOST = {"construction": 3.0, "food_service": 2.5}  # registrations during a shift

PAYMENT_METHODS = ("transfer", "pse", "cash", "card")
PAYMENT_METHOD_SHARES = (0.45, 0.30, 0.10, 0.15)
TERMS = (15, 30, 45, 60)
TERM_SHARES = (0.10, 0.60, 0.15, 0.15)
REJECTION_REASONS = (
    "puntaje insuficiente",
    "mora vigente en el sector financiero",
    "capacidad de pago insuficiente",
    "documentacion incompleta",
    "endeudamiento elevado",
)


@dataclass(frozen=True)
class ModelParams:
    """Every knob of the model; README.md explains each one."""

    burn_in_months: int = 4
    # latent monthly distress logit x = z + beta * macro + shock, z an AR(1) around the client's mean mu
    phi: float = 0.95  # month-to-month persistence of z (around mu) and of the macro factor (around 0)
    sigma_client: float = 0.20
    sigma_macro: float = 0.10
    beta_macro: float = 1.0
    mu_mean: float = -4.35
    mu_sd: float = 0.75
    size_effect: float = 0.12  # bigger clients are a little safer
    closure_daily: float = 0.0004  # voluntary closure hazard per day (about 1.2% a month)
    # lender declares default D = admin_delay_min + Geometric(admin_delay_p) days after distress onset
    admin_delay_min: int = 20
    admin_delay_p: float = 1 / 35
    # distribution shift (last shift_months months)
    shock_logit: float = 0.6
    shock_score: float = 55.0
    shock_registrations: float = 1.6
    # clients draw harder on their credit lines during a shift: the utilization logit rises by this much
    # (ordered volume, hence open invoices, outstanding and utilization, about double for a typical client)
    shock_utilization: float = 1.0
    # behaviour
    util_a: float = -0.45
    util_b: float = 0.45
    late_a: float = -1.2
    late_b: float = 0.8
    partial_a: float = -1.8
    partial_b: float = 0.5
    plan_a: float = -1.2
    plan_b: float = 0.4
    cancel_share: float = 0.035
    return_share: float = 0.015
    recovery_client_share: float = 0.35
    bureau_refresh_monthly: float = 1 / 14
    no_bureau_share: float = 0.02


@dataclass
class Simulation:
    """Everything drawn by `simulate()`: arrays over clients, orders (= invoices), payments, plans."""

    params: ModelParams
    cal: Calendar
    n: int
    seed: int
    shift_months: int
    rngs: dict[str, np.random.Generator]
    # clients
    reg: np.ndarray = field(default=None)  # registration day
    industry: np.ndarray = field(default=None)  # index into INDUSTRIES
    mu: np.ndarray = field(default=None)
    limit0: np.ndarray = field(default=None)
    ticket_frac: np.ndarray = field(default=None)
    util_bias: np.ndarray = field(default=None)
    late_style: np.ndarray = field(default=None)
    terms: np.ndarray = field(default=None)
    static: np.ndarray = field(default=None)  # 0 active history, 1 closed / 2 defaulted before the simulation
    static_day: np.ndarray = field(default=None)
    static_outstanding: np.ndarray = field(default=None)
    # latent risk, months x clients
    z: np.ndarray = field(default=None)  # (n, n_months + 3); nan before the client exists
    macro: np.ndarray = field(default=None)  # (n_months + 3,)
    shock: np.ndarray = field(default=None)  # (n_months + 3,) logit shift of the distribution shift
    x: np.ndarray = field(default=None)  # monthly distress logit
    # distress and closure
    onset: np.ndarray = field(default=None)  # first day of distress (NEVER)
    closing: np.ndarray = field(default=None)  # day the client decided to leave (NEVER)
    admin: np.ndarray = field(default=None)  # day the lender declares default (NEVER)
    closed: np.ndarray = field(default=None)  # day the account is closed (NEVER)
    # limit changes
    lim_client: np.ndarray = field(default=None)
    lim_day: np.ndarray = field(default=None)
    lim_value: np.ndarray = field(default=None)
    # orders / invoices
    o_client: np.ndarray = field(default=None)
    o_day: np.ndarray = field(default=None)
    o_value: np.ndarray = field(default=None)
    o_status: np.ndarray = field(default=None)  # 0 completed, 1 cancelled, 2 returned
    o_due: np.ndarray = field(default=None)
    o_id: np.ndarray = field(default=None)
    o_planned: np.ndarray = field(default=None)  # planned day of the last payment (dpd <= 59)
    o_paid: np.ndarray = field(default=None)  # day the invoice was fully paid (NEVER)
    o_x: np.ndarray = field(default=None)
    # payments
    p_order: np.ndarray = field(default=None)
    p_client: np.ndarray = field(default=None)
    p_day: np.ndarray = field(default=None)
    p_amount: np.ndarray = field(default=None)
    p_method: np.ndarray = field(default=None)
    p_id: np.ndarray = field(default=None)
    # plans
    pl_client: np.ndarray = field(default=None)
    pl_order: np.ndarray = field(default=None)
    pl_start: np.ndarray = field(default=None)
    pl_end: np.ndarray = field(default=None)
    pl_amount: np.ndarray = field(default=None)
    pl_final: np.ndarray = field(default=None)  # 0 active, 1 completed, 2 defaulted, 3 cancelled
    pl_update: np.ndarray = field(default=None)  # day of the final status (NEVER: still active)
    pl_id: np.ndarray = field(default=None)
    # bureau (latest report per client; has_report False for clients without a file)
    b_has: np.ndarray = field(default=None)
    b_day: np.ndarray = field(default=None)
    b_score: np.ndarray = field(default=None)  # nan = null
    b_rejected: np.ndarray = field(default=None)
    b_reason: np.ndarray = field(default=None)
    b_defaults: np.ndarray = field(default=None)
    b_defaults_missing: np.ndarray = field(default=None)
    b_debt: np.ndarray = field(default=None)  # nan = null
    b_credits: np.ndarray = field(default=None)  # -1 = null

    @property
    def observable_from(self) -> int:
        """Orders from this day on are in some exported orders file (the first file looks back 7 days)."""
        return self.cal.first_export - 6

    @cached_property
    def client_ids(self) -> pa.Array:
        return pa.array([f"CL-{i + 1001:08d}" for i in range(self.n)], pa.string())

    @cached_property
    def invoice_ids(self) -> pa.Array:
        numbers = pc.cast(pa.array(self.o_id + 6_500_000), pa.string())
        return pc.binary_join_element_wise("FE-", numbers, "")


def make_rngs(seed: int) -> dict[str, np.random.Generator]:
    """One independent stream per part of the model, so that each part's draws stay put when another
    part changes."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}


def simulate(
    n_clients: int,
    months: int,
    end_date: date,
    seed: int,
    shift_months: int = 0,
    params: ModelParams | None = None,
) -> Simulation:
    params = params or ModelParams()
    rngs = make_rngs(seed)
    cal = build_calendar(months, end_date, params.burn_in_months, min(shift_months, months), rngs["calendar"])
    sim = Simulation(
        params=params, cal=cal, n=n_clients, seed=seed, shift_months=min(shift_months, months), rngs=rngs
    )
    _draw_clients(sim)
    _draw_risk_paths(sim)
    _draw_distress(sim)
    _draw_limits(sim)
    _draw_orders(sim)
    _draw_payments(sim)
    _draw_admin_and_closure(sim)
    _draw_plans(sim)
    _draw_bureau(sim)
    return sim


# clients ------------------------------------------------------------------------------------------------


def _draw_clients(sim: Simulation) -> None:
    p, cal, rng, n = sim.params, sim.cal, sim.rngs["clients"], sim.n
    months = (cal.last_export - cal.first_export + 1) / 30.44
    n_new = int(round(n * months / (months + 30)))
    n_pre = n - n_new
    # existing clients registered up to five years before the first export
    reg_pre = cal.first_export - 1 - rng.integers(0, 5 * 365, n_pre)
    # new clients: a growing business, more registrations during a shift
    days = np.arange(cal.first_export, cal.last_export + 1)
    weight = 1.0 + 0.5 * (days - cal.first_export) / max(len(days) - 1, 1)
    in_shift = cal.month_of(days) >= cal.shift_start_month
    weight = weight * np.where(in_shift, p.shock_registrations, 1.0)
    reg_new = rng.choice(days, size=n_new, p=weight / weight.sum())
    reg = np.concatenate([reg_pre, reg_new])
    order = np.lexsort((rng.random(n), reg))  # ids follow registration order
    reg = reg[order]
    sim.reg = reg.astype(np.int64)

    names = [x[0] for x in INDUSTRIES]
    base = np.array([x[1] for x in INDUSTRIES])
    boosted = base * np.array([SHIFT_INDUSTRY_BOOST.get(nm, 1.0) for nm in names])
    reg_in_shift = (sim.reg >= cal.first_export) & (cal.month_of(sim.reg) >= cal.shift_start_month)
    u = rng.random(n)
    ind_base = np.searchsorted(np.cumsum(base / base.sum()), u, side="right")
    ind_shift = np.searchsorted(np.cumsum(boosted / boosted.sum()), u, side="right")
    sim.industry = np.minimum(np.where(reg_in_shift, ind_shift, ind_base), len(INDUSTRIES) - 1)
    offset = np.array([x[2] for x in INDUSTRIES])[sim.industry]

    size = rng.standard_normal(n)
    sim.mu = p.mu_mean + offset + p.mu_sd * rng.standard_normal(n) - p.size_effect * size
    sim.limit0 = np.clip(np.round(np.exp(np.log(35e6) + 0.85 * size), -6), 3e6, 3e9).astype(np.int64)
    sim.ticket_frac = np.exp(np.log(0.10) + 0.4 * rng.standard_normal(n))
    sim.util_bias = 0.4 * rng.standard_normal(n)
    sim.late_style = 0.5 * rng.standard_normal(n)
    sim.terms = rng.choice(np.array(TERMS), size=n, p=np.array(TERM_SHARES))

    # some old accounts were closed or defaulted before the simulation starts: they only sit in snapshots
    old = sim.reg < cal.sim_start - 180
    draw = rng.random(n)
    sim.static = np.where(old & (draw < 0.05), 1, np.where(old & (draw > 0.97), 2, 0)).astype(np.int8)
    span = np.maximum(cal.sim_start - 1 - (sim.reg + 90), 1)
    sim.static_day = np.where(sim.static > 0, sim.reg + 90 + (rng.random(n) * span).astype(np.int64), NEVER)
    sim.static_outstanding = np.where(
        sim.static == 2, np.round(sim.limit0 * rng.uniform(0.3, 1.0, n), -3), 0
    ).astype(np.int64)


# latent risk --------------------------------------------------------------------------------------------


def _draw_risk_paths(sim: Simulation) -> None:
    p, cal, rng, n = sim.params, sim.cal, sim.rngs["risk"], sim.n
    total = len(cal.month_start)
    first_month = cal.month_of(np.maximum(sim.reg, cal.sim_start))
    stationary = p.sigma_client / np.sqrt(1 - p.phi**2)
    eps = rng.standard_normal((n, total))
    init = sim.mu + stationary * rng.standard_normal(n)
    z = np.full((n, total), np.nan)
    for m in range(cal.n_months):
        prev = z[:, m - 1] if m > 0 else np.full(n, np.nan)
        step = sim.mu + p.phi * (prev - sim.mu) + p.sigma_client * eps[:, m]
        z[:, m] = np.where(first_month == m, init, step)
    sim.z = z
    macro = np.zeros(total)
    eta = rng.standard_normal(total)
    macro[0] = p.sigma_macro / np.sqrt(1 - p.phi**2) * eta[0]
    for m in range(1, cal.n_months):
        macro[m] = p.phi * macro[m - 1] + p.sigma_macro * eta[m]
    sim.macro = macro
    sim.shock = np.where(np.arange(total) >= cal.shift_start_month, p.shock_logit, 0.0)
    sim.x = z + p.beta_macro * macro[None, :] + sim.shock[None, :]


def _draw_distress(sim: Simulation) -> None:
    """Each day a performing client closes with probability kappa, else falls into distress with the
    daily probability q of its month: 1 - (1 - q)^days = expit(x), the monthly distress probability."""
    p, cal, rng, n = sim.params, sim.cal, sim.rngs["distress"], sim.n
    onset = np.full(n, NEVER, dtype=np.int64)
    closing = np.full(n, NEVER, dtype=np.int64)
    kappa = p.closure_daily
    for m in range(cal.n_months):
        s = cal.month_start[m]
        e = min(int(cal.month_end(m)), cal.last_export)
        first = np.maximum(s, sim.reg + 1)
        n_days = e - first + 1
        live = (sim.static == 0) & (onset == NEVER) & (closing == NEVER) & (n_days > 0)
        pi = expit(sim.x[:, m])
        q = -np.expm1(np.log1p(-pi) / cal.month_len[m])
        eta = kappa + (1 - kappa) * q
        u1, u2 = rng.random(n), rng.random(n)
        k = np.floor(np.log(u1) / np.log1p(-eta))
        hit = live & (k < n_days)
        day = first + np.where(hit, k, 0).astype(np.int64)
        is_close = u2 < kappa / eta
        closing = np.where(hit & is_close, day, closing)
        onset = np.where(hit & ~is_close, day, onset)
    sim.onset, sim.closing = onset, closing


# credit limits ------------------------------------------------------------------------------------------


def _draw_limits(sim: Simulation) -> None:
    """A review in about one month in six moves the limit up for good risks and down for bad ones."""
    p, cal, rng, n = sim.params, sim.cal, sim.rngs["limits"], sim.n
    nm = cal.n_months
    review = rng.random((n, nm)) < 1 / 6
    offset = (rng.random((n, nm)) * cal.month_len[None, :nm]).astype(np.int64)
    day = cal.month_start[None, :nm] + offset
    ok = (
        review
        & (day > sim.reg[:, None] + 60)
        & (day < sim.onset[:, None])
        & (day < sim.closing[:, None])
        & (day <= cal.last_export)
        & (sim.static[:, None] == 0)
    )
    noise = rng.standard_normal((n, nm))
    logf = np.clip(0.06 - 0.30 * (sim.x[:, :nm] - p.mu_mean) + 0.12 * noise, -0.6, 0.5)
    client, month = np.nonzero(ok)  # row-major: sorted by client, then month (= day)
    logf = logf[client, month]
    csum = np.cumsum(logf)
    starts = np.searchsorted(client, client, side="left")
    group_base = np.where(starts > 0, csum[starts - 1], 0.0)
    cum = csum - group_base
    value = np.maximum(np.round(sim.limit0[client] * np.exp(cum), -6), 1e6).astype(np.int64)
    sim.lim_client, sim.lim_day, sim.lim_value = client, day[client, month], value


def limit_on(sim: Simulation, client: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Credit limit of each client on each day."""
    if len(sim.lim_client) == 0:
        return sim.limit0[client]
    key = sim.lim_client * (NEVER * 4) + sim.lim_day
    pos = np.searchsorted(key, client * (NEVER * 4) + day, side="right") - 1
    safe = np.maximum(pos, 0)
    changed = (pos >= 0) & (sim.lim_client[safe] == client)
    return np.where(changed, sim.lim_value[safe], sim.limit0[client])


# orders and invoices ------------------------------------------------------------------------------------


def _draw_orders(sim: Simulation) -> None:
    """Poisson orders per client-month; risk raises utilization, so riskier clients buy more on credit."""
    p, cal, rng, n = sim.params, sim.cal, sim.rngs["orders"], sim.n
    nm = cal.n_months
    s = cal.month_start[None, :nm]
    e = np.minimum(cal.month_end(np.arange(nm))[None, :], cal.last_export)
    lo = np.maximum(s, sim.reg[:, None])
    hi = np.minimum(e, np.minimum(sim.onset, sim.closing)[:, None] - 1)
    active = np.where(sim.static[:, None] == 0, hi - lo + 1, 0)
    active = np.maximum(active, 0)
    clients = np.repeat(np.arange(n), nm)
    lim = limit_on(sim, clients, lo.ravel()).reshape(n, nm)
    x = sim.x[:, :nm]
    in_shift = np.arange(nm) >= cal.shift_start_month
    util = expit(
        p.util_a
        + p.util_b * (x - p.mu_mean)
        + sim.util_bias[:, None]
        + np.where(in_shift, p.shock_utilization, 0.0)
    )
    hold = sim.terms[:, None] + 6.0
    volume = util * lim * 30.0 / hold
    ticket = lim * sim.ticket_frac[:, None]
    rate = volume / ticket * active / cal.month_len[None, :nm]
    count = rng.poisson(np.nan_to_num(rate))
    cm = np.nonzero(count.ravel())[0]
    reps = count.ravel()[cm]
    client = np.repeat(cm // nm, reps)
    month = np.repeat(cm % nm, reps)
    m = len(client)
    day = lo[client, month] + (rng.random(m) * active[client, month]).astype(np.int64)
    value = np.maximum(np.round(ticket[client, month] * rng.lognormal(-0.125, 0.5, m), -3), 50_000)
    u = rng.random(m)
    status = np.where(u < p.cancel_share, 1, np.where(u < p.cancel_share + p.return_share, 2, 0))
    order = np.lexsort((rng.random(m), client, day))
    sim.o_client = client[order]
    sim.o_day = day[order]
    sim.o_value = value[order].astype(np.int64)
    sim.o_status = status[order].astype(np.int8)
    sim.o_due = sim.o_day + sim.terms[sim.o_client]
    sim.o_id = np.arange(m, dtype=np.int64) + 500_001
    sim.o_x = x[sim.o_client, month[order]]


def _draw_payments(sim: Simulation) -> None:
    """Each invoice has a planned last payment (early, on time or up to 59 days late, later for riskier
    clients), sometimes preceded by partial payments. Distress cancels every payment from its onset;
    some distressed clients later pay part of what they owe (recoveries, 60+ days past due)."""
    p, rng = sim.params, sim.rngs["invoices"]
    m = len(sim.o_client)
    c = sim.o_client
    dx = sim.o_x - p.mu_mean
    late = rng.random(m) < expit(p.late_a + p.late_b * dx + sim.late_style[c])
    b = 7.0 * np.exp(-0.45 * dx - 0.5 * sim.late_style[c])
    dpd_late = 1 + np.floor(58 * rng.beta(1.3, np.maximum(b, 0.3))).astype(np.int64)
    dpd_early = -np.floor(rng.random(m) * 11).astype(np.int64)
    dpd = np.where(late, dpd_late, dpd_early)
    sim.o_planned = sim.o_due + dpd
    billable = sim.o_status != 1

    # installments: 1 to 4 payments, the last on the planned day
    partial = rng.random(m) < expit(p.partial_a + p.partial_b * dx)
    n_inst = np.where(partial, rng.integers(2, 5, m), 1) * billable
    inv = np.repeat(np.arange(m), n_inst)
    k = np.arange(len(inv)) - np.repeat(np.cumsum(n_inst) - n_inst, n_inst)
    last = k == np.repeat(n_inst, n_inst) - 1
    earliest = np.maximum(sim.o_day[inv] + 1, sim.o_planned[inv] - 45)
    span = sim.o_planned[inv] - earliest + 1
    day = np.where(last, sim.o_planned[inv], earliest + (rng.random(len(inv)) * span).astype(np.int64))
    weight = 1.0 + rng.exponential(1.0, len(inv))
    share = weight / np.bincount(inv, weights=weight, minlength=m)[inv]
    amount = np.floor(sim.o_value[inv] * share)
    paid_before_last = np.bincount(inv, weights=np.where(last, 0.0, amount), minlength=m)
    amount = np.where(last, sim.o_value[inv] - paid_before_last[inv], amount)

    onset = sim.onset[sim.o_client[inv]]
    kept = day < onset
    paid_full = np.full(m, NEVER, dtype=np.int64)
    paid_full[inv[last & kept]] = sim.o_planned[inv[last & kept]]

    # recoveries of distressed clients
    rrng = sim.rngs["recoveries"]
    remaining = sim.o_value - np.bincount(inv[kept], weights=amount[kept], minlength=m)
    distressed_unpaid = billable & (paid_full == NEVER) & (sim.onset[c] < NEVER)
    recovering = rrng.random(sim.n) < p.recovery_client_share
    rec = distressed_unpaid & recovering[c] & (rrng.random(m) < 0.6)
    rec_day = sim.o_due + 60 + np.floor(rrng.random(m) * 150).astype(np.int64)
    full = rrng.random(m) < 0.5
    rec_amount = np.where(full, remaining, np.floor(remaining * rrng.uniform(0.2, 0.9, m)))
    rec = rec & (rec_amount > 0)
    paid_full = np.where(rec & full, rec_day, paid_full)
    sim.o_paid = paid_full

    r_inv = np.nonzero(rec)[0]
    all_inv = np.concatenate([inv[kept], r_inv])
    all_day = np.concatenate([day[kept], rec_day[r_inv]])
    all_amount = np.concatenate([amount[kept], rec_amount[r_inv]]).astype(np.int64)
    visible = all_day <= sim.cal.last_export
    all_inv, all_day, all_amount = all_inv[visible], all_day[visible], all_amount[visible]
    prng = sim.rngs["payments"]
    order = np.lexsort((prng.random(len(all_inv)), all_day))
    sim.p_order = all_inv[order]
    sim.p_client = sim.o_client[sim.p_order]
    sim.p_day = all_day[order]
    sim.p_amount = all_amount[order]
    sim.p_method = prng.choice(len(PAYMENT_METHODS), size=len(order), p=np.array(PAYMENT_METHOD_SHARES))
    sim.p_id = np.arange(len(order), dtype=np.int64) + 3_000_001


def _draw_admin_and_closure(sim: Simulation) -> None:
    """Default declared D days after onset on a clients-export day; a leaving client's account closes
    when its last invoice is paid."""
    p, cal, rng = sim.params, sim.cal, sim.rngs["admin"]
    delay = p.admin_delay_min + rng.geometric(p.admin_delay_p, sim.n) - 1
    distressed = sim.onset < NEVER
    sim.admin = np.where(
        distressed, cal.next_clients_export(np.where(distressed, sim.onset + delay, 0)), NEVER
    )
    billable = sim.o_status != 1
    last_paid = np.zeros(sim.n, dtype=np.int64)
    np.maximum.at(last_paid, sim.o_client[billable], sim.o_planned[billable])
    leaving = sim.closing < NEVER
    sim.closed = np.where(leaving, np.maximum(sim.closing, last_paid), NEVER)
    sim.closed = np.where(sim.static == 1, sim.static_day, sim.closed)
    sim.admin = np.where(sim.static == 2, sim.static_day, sim.admin)


def _draw_plans(sim: Simulation) -> None:
    """An invoice 30 days past due is sometimes restructured into a payment plan. The plan completes
    when the invoice is paid, is cancelled now and then, and defaults when the lender declares the
    client's default."""
    p, rng = sim.params, sim.rngs["plans"]
    m = len(sim.o_client)
    c = sim.o_client
    reaches30 = (sim.o_status != 1) & (sim.o_paid >= sim.o_due + 30)
    offered = rng.random(m) < expit(p.plan_a + p.plan_b * (sim.o_x - p.mu_mean))
    start = sim.o_due + 30 + np.floor(rng.random(m) * 8).astype(np.int64)
    admin = sim.admin[c]
    ok = reaches30 & offered & (start < sim.o_paid) & (start < admin) & (start <= sim.cal.last_export)
    idx = np.nonzero(ok)[0]
    k = len(idx)
    start = start[idx]
    end = start + 30 * rng.integers(1, 5, k)
    # amount still owed when the plan starts
    paid_before = np.zeros(k)
    if k:
        key = sim.p_order * (NEVER * 4) + sim.p_day
        order = np.argsort(key, kind="stable")
        csum = np.concatenate([[0.0], np.cumsum(sim.p_amount[order].astype(np.float64))])
        skey = key[order]
        hi = np.searchsorted(skey, idx * (NEVER * 4) + start, side="left")
        lo = np.searchsorted(skey, idx * (NEVER * 4), side="left")
        paid_before = csum[hi] - csum[lo]
    amount = (sim.o_value[idx] - paid_before).astype(np.int64)
    cancel_day = start + 2 + np.floor(rng.random(k) * 12).astype(np.int64)
    cancelled = (rng.random(k) < 0.08) & (cancel_day < sim.o_paid[idx]) & (cancel_day < admin[idx])
    completed = ~cancelled & (sim.o_paid[idx] < admin[idx])
    defaulted = ~cancelled & ~completed & (admin[idx] < NEVER)
    final = np.select([cancelled, completed, defaulted], [3, 1, 2], 0).astype(np.int8)
    update = np.select([cancelled, completed, defaulted], [cancel_day, sim.o_paid[idx], admin[idx]], NEVER)
    update = np.where(update > sim.cal.last_export, NEVER, update)
    final = np.where(update == NEVER, 0, final).astype(np.int8)
    order = np.lexsort((rng.random(k), start))
    sim.pl_order = idx[order]
    sim.pl_client = c[sim.pl_order]
    sim.pl_start = start[order]
    sim.pl_end = end[order]
    sim.pl_amount = amount[order]
    sim.pl_final = final[order]
    sim.pl_update = update[order]
    sim.pl_id = np.arange(k, dtype=np.int64) + 9_001


# bureau -------------------------------------------------------------------------------------------------


def _draw_bureau(sim: Simulation) -> None:
    """One report around registration, refreshed now and then; the file holds the newest one."""
    p, cal, rng, n = sim.params, sim.cal, sim.rngs["bureau"], sim.n
    nm = cal.n_months
    first_query = sim.reg - np.floor(rng.random(n) * 11).astype(np.int64)
    refresh = rng.random((n, nm)) < p.bureau_refresh_monthly
    r_day = cal.month_start[None, :nm] + (rng.random((n, nm)) * cal.month_len[None, :nm]).astype(np.int64)
    # Refreshes do not stop at default or closure (collections query the bureau too): a one-shot landing
    # keeps only the newest report, so a refresh that depended on the client's fate would leak the future
    # into historical features (a report visible at t would mean "no refresh after t").
    refresh &= (r_day > sim.reg[:, None] + 30) & (r_day <= cal.last_export) & (sim.static[:, None] == 0)
    r_day = np.where(refresh, r_day, -NEVER)
    latest_refresh = r_day.max(axis=1)
    day = np.maximum(first_query, latest_refresh)
    sim.b_day = day
    sim.b_has = rng.random(n) >= p.no_bureau_share
    month = np.clip(cal.month_of(np.maximum(day, cal.sim_start)), 0, nm - 1)
    zq = sim.z[np.arange(n), month]
    first_month = cal.month_of(np.maximum(sim.reg, cal.sim_start))
    zq = np.where(np.isnan(zq), sim.z[np.arange(n), np.clip(first_month, 0, nm - 1)], zq)
    zq = np.where(np.isnan(zq), sim.mu, zq)
    dz = zq - p.mu_mean
    in_shift = (day >= cal.first_export) & (month >= cal.shift_start_month)
    score = 640 - 85 * dz + 45 * rng.standard_normal(n) - np.where(in_shift, p.shock_score, 0.0)
    score = np.clip(np.round(score), 150, 950)
    sim.b_rejected = rng.random(n) < expit(-3.2 - (score - 560) / 45)
    sim.b_score = np.where(rng.random(n) < 0.03, np.nan, score)
    sim.b_reason = rng.integers(0, len(REJECTION_REASONS), n)
    sim.b_defaults = rng.poisson(0.08 * np.exp(np.clip(dz, -3, 4)))
    sim.b_defaults_missing = (sim.b_defaults == 0) & (rng.random(n) < 0.25)
    debt = np.round(sim.limit0 * rng.lognormal(0.3 + 0.3 * np.clip(dz, -3, 3), 0.8), -3)
    sim.b_debt = np.where(rng.random(n) < 0.06, np.nan, debt)
    credits = rng.poisson(1.5 + 0.5 * np.maximum(dz, 0))
    sim.b_credits = np.where(rng.random(n) < 0.06, -1, credits)
