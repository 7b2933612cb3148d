"""Days, months and export days of a demo run.

Dates are integer day numbers (days since 1970-01-01) everywhere inside the generator: numpy works on
them directly and they convert to Arrow `date32` without a copy.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

EPOCH = date(1970, 1, 1)
NEVER = 10**7  # a day number far beyond any simulated day: "did not happen"
TABLES = ("clients", "payments", "orders", "utilization_monthly", "payment_plans")


def to_day(d: date) -> int:
    return (d - EPOCH).days


def to_date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def add_months(d: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the end of a shorter month."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year, month = d.year + years, month0 + 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def first_of_month(d: date) -> date:
    return d.replace(day=1)


@dataclass
class Calendar:
    """The simulated span, its calendar months and the days each table was exported."""

    sim_start: int  # first simulated day (burn-in before the first export)
    first_export: int
    last_export: int
    month_start: np.ndarray  # day numbers of the first day of each month, from sim_start's month on
    month_len: np.ndarray
    n_months: int  # months simulated (up to the month of last_export); month_start has 3 more for the truth
    shift_start_month: int  # first month index of the distribution shift (n_months when there is none)
    export_days: dict[str, np.ndarray] = field(default_factory=dict)  # per table, sorted day numbers

    @property
    def n_days(self) -> int:
        return self.last_export - self.sim_start + 1

    def month_of(self, days: np.ndarray | int) -> np.ndarray:
        return np.searchsorted(self.month_start, days, side="right") - 1

    def month_end(self, month: np.ndarray | int) -> np.ndarray:
        return self.month_start[month] + self.month_len[month] - 1

    def month_ends_in_period(self) -> np.ndarray:
        """Calendar month ends between the first and the last export: the ground truth's as-of dates."""
        ends = self.month_start + self.month_len - 1
        return ends[(ends >= self.first_export) & (ends <= self.last_export)]

    def next_clients_export(self, days: np.ndarray) -> np.ndarray:
        """First clients snapshot on or after each day (days before the first or after the last export
        are their own snapshot day: the lender acted then, outside the exported span)."""
        days = np.asarray(days, dtype=np.int64)
        exp = self.export_days["clients"]
        pos = np.minimum(np.searchsorted(exp, days, side="left"), len(exp) - 1)
        inside = (days >= self.first_export) & (days <= self.last_export)
        return np.where(inside, exp[pos], days)

    def last_clients_export(self, days: np.ndarray) -> np.ndarray:
        """Last clients snapshot on or before each day (days outside the exported span map to themselves)."""
        days = np.asarray(days, dtype=np.int64)
        exp = self.export_days["clients"]
        pos = np.maximum(np.searchsorted(exp, days, side="right") - 1, 0)
        inside = (days >= self.first_export) & (days <= self.last_export)
        return np.where(inside, exp[pos], days)


def build_calendar(
    months: int, end_date: date, burn_in_months: int, shift_months: int, rng: np.random.Generator
) -> Calendar:
    """Export days from `end_date - months` (exclusive) to `end_date`, with a few random outage days."""
    first_export_date = add_months(end_date, -months) + timedelta(days=1)
    sim_start_date = add_months(first_of_month(first_export_date), -burn_in_months)
    end_month = first_of_month(end_date)
    starts: list[date] = []
    d = sim_start_date
    while d <= add_months(end_month, 3):
        starts.append(d)
        d = add_months(d, 1)
    month_start = np.array([to_day(s) for s in starts], dtype=np.int64)
    month_len = np.array([_calendar.monthrange(s.year, s.month)[1] for s in starts], dtype=np.int64)
    n_months = starts.index(end_month) + 1
    shift_start_month = n_months - shift_months if shift_months > 0 else n_months
    cal = Calendar(
        sim_start=to_day(sim_start_date),
        first_export=to_day(first_export_date),
        last_export=to_day(end_date),
        month_start=month_start,
        month_len=month_len,
        n_months=n_months,
        shift_start_month=max(shift_start_month, 0),
    )
    cal.export_days = _export_days(cal, rng)
    return cal


def _export_days(cal: Calendar, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Daily exports with outages: whole-day failures plus single-table failures, never the first or
    last day and never two days in a row, and at least one per table when the span allows it."""
    days = np.arange(cal.first_export, cal.last_export + 1)
    n = len(days)
    whole_day = rng.random(n) < 0.008
    out: dict[str, np.ndarray] = {}
    for table in TABLES:
        skip = whole_day | (rng.random(n) < 0.006)
        if n >= 20 and not skip[1:-1].any():
            skip[rng.integers(1, n - 1)] = True
        skip[0] = skip[-1] = False
        skip[1:] &= ~skip[:-1]  # no two consecutive outages: every payment still shows up in some file
        out[table] = days[~skip]
    return out
