"""Turn a simulation into the landing layout of the data contract.

Rows are built from numpy arrays as Arrow tables in the contract's column order and formatted by
Arrow's CSV writer (money in whole pesos: no float formatting surprises). A row that repeats in many
files is formatted once: a client's snapshot row once per version (a new version on each change),
each payment and order once (a file's 7-day window is one contiguous run of them), a closed
utilization month once. Files are independent, so two threads write them.
"""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

import contract
from demo import dirty
from demo.calendar import to_date
from demo.model import INDUSTRIES, PAYMENT_METHODS, REJECTION_REASONS, Simulation
from demo.names import company_names, tax_ids

ACCOUNT_STATUS_BY_CODE = ("", "active", "suspended", "closed", "defaulted")
ORDER_STATUS_BY_CODE = ("completed", "cancelled", "returned")
PLAN_STATUS_BY_CODE = ("active", "completed", "defaulted", "cancelled")
SECONDS_PER_DAY = 86_400


def time_of_day(key: np.ndarray, day: np.ndarray) -> np.ndarray:
    """A reproducible office-hours time (07:00-20:00) for an event, in seconds."""
    mixed = (key.astype(np.int64) * 7919 + day.astype(np.int64) * 104_729) % 46_800
    return 7 * 3600 + mixed


def timestamps(key: np.ndarray, day: np.ndarray) -> pa.Array:
    seconds = day.astype(np.int64) * SECONDS_PER_DAY + time_of_day(key, day)
    return pa.array(seconds, pa.timestamp("s"))


def dates(day: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(day, dtype=np.int32), pa.date32())


def codes(values: tuple[str, ...], code: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(np.asarray(code, dtype=np.int64)))


@dataclass
class ExportStats:
    files: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    bytes: int = 0
    dirty_rows: Counter = field(default_factory=Counter)
    dirty_files: dict[str, str] = field(default_factory=dict)


class DailyState:
    """Client-by-day matrices (outstanding, limit, status, last change) behind snapshots and utilization."""

    def __init__(self, sim: Simulation) -> None:
        cal, n = sim.cal, sim.n
        self.sim = sim
        d = cal.n_days
        self.n_days = d
        start = cal.sim_start

        def paint(client: np.ndarray, day: np.ndarray, weight: np.ndarray) -> np.ndarray:
            inside = day < start + d
            flat = client[inside] * d + np.maximum(day[inside] - start, 0)
            return np.bincount(flat, weights=weight[inside], minlength=n * d).reshape(n, d)

        billable = sim.o_status != 1
        client = np.concatenate([sim.o_client[billable], sim.p_client, np.arange(n)])
        day = np.concatenate([sim.o_day[billable], sim.p_day, np.full(n, start)])
        amount = np.concatenate([sim.o_value[billable], -sim.p_amount, sim.static_outstanding]).astype(
            np.float64
        )
        self.outstanding = np.cumsum(paint(client, day, amount), axis=1).round().astype(np.int64)

        prev = np.where(
            np.r_[False, sim.lim_client[1:] == sim.lim_client[:-1]],
            np.r_[0, sim.lim_value[:-1]],
            sim.limit0[sim.lim_client],
        )
        delta = (sim.lim_value - prev).astype(np.float64)
        self.limit = sim.limit0[:, None] + np.cumsum(
            paint(sim.lim_client, sim.lim_day, delta), axis=1
        ).round().astype(np.int64)

        # suspended while an invoice is 30+ days past due and unpaid
        late = billable & (sim.o_paid > sim.o_due + 30)
        s_client = sim.o_client[late]
        s_from = sim.o_due[late] + 30
        s_to = np.minimum(sim.o_paid[late], sim.admin[s_client])
        keep = s_to > s_from
        s_client, s_from, s_to = s_client[keep], s_from[keep], s_to[keep]
        marks = paint(s_client, np.maximum(s_from, start), np.ones(len(s_client))) - paint(
            s_client, np.maximum(s_to, start), np.ones(len(s_client))
        )
        suspended = np.cumsum(marks, axis=1) > 0.5
        days = start + np.arange(d)[None, :]
        status = np.where(suspended, 2, 1).astype(np.int8)
        status = np.where(days >= sim.closed[:, None], 3, status)
        status = np.where(days >= sim.admin[:, None], 4, status)
        self.status = np.where(days >= sim.reg[:, None], status, 0).astype(np.int8)

        changed = np.zeros((n, d), dtype=bool)
        changed[:, 1:] = (
            (np.diff(self.outstanding, axis=1) != 0)
            | (np.diff(self.limit, axis=1) != 0)
            | (np.diff(self.status, axis=1) != 0)
        )
        # a snapshot row is one of a few versions per client: a new one on every change day
        versions = changed.copy()
        versions[:, 0] = True
        offsets = np.concatenate([[0], np.cumsum(versions.sum(axis=1))[:-1]]).astype(np.int32)
        self.version = np.cumsum(versions, axis=1, dtype=np.int32) - 1 + offsets[:, None]
        self.version_client, self.version_day = np.nonzero(versions)  # row-major: in version order
        del versions
        idx = np.where(changed, np.arange(d, dtype=np.int32)[None, :], -1)
        last = np.maximum.accumulate(idx, axis=1)
        base = np.where(sim.static > 0, sim.static_day, sim.reg)
        self.updated_day = np.where(last >= 0, start + last, base[:, None])

        # utilization: cumulative outstanding and the running maximum within each calendar month
        self.cum = np.cumsum(self.outstanding, axis=1, dtype=np.float64)
        self.run_max = np.empty_like(self.outstanding)
        for m in range(cal.n_months):
            lo = max(int(cal.month_start[m]) - start, 0)
            hi = min(int(cal.month_end(m)) - start + 1, d)
            if hi > lo:
                self.run_max[:, lo:hi] = np.maximum.accumulate(self.outstanding[:, lo:hi], axis=1)
        first = np.maximum(sim.reg, start)
        self.util_first_month = cal.month_of(first)
        stop = np.minimum(np.minimum(sim.closed, sim.admin), cal.last_export)
        self.util_last_month = np.where(sim.static > 0, -1, cal.month_of(stop))


class LandingWriter:
    def __init__(self, sim: Simulation, landing: Path, dirty_rate: float) -> None:
        self.sim = sim
        self.landing = landing
        self.dirty_rate = dirty_rate
        self.stats = ExportStats()
        self.state = DailyState(sim)
        self.names = pa.array(company_names(sim.n, sim.rngs["export"]), pa.string())
        self.tax = pa.array(tax_ids(sim.n, sim.rngs["export"]), pa.string())
        self.industry = codes(tuple(x[0] for x in INDUSTRIES), sim.industry)
        self.created = timestamps(np.arange(sim.n), sim.reg)
        self.plan_by_update = np.argsort(sim.pl_update, kind="stable")
        _ = sim.client_ids, sim.invoice_ids  # built once here, not raced for by the writer threads
        self.lock = threading.Lock()
        self.closed_months: dict[int, tuple[int, bytes]] = {}
        self.client_lines: list[bytes] = []
        self.formatted: dict[str, tuple[bytes, np.ndarray]] = {}
        self.builders = {
            "clients": self.clients,
            "payments": self.payments,
            "orders": self.orders,
            "utilization_monthly": self.utilization,
            "payment_plans": self.plans,
        }

    # tables ---------------------------------------------------------------------------------------------

    def clients(self, d: int) -> pa.Table:
        idx = np.nonzero(self.sim.reg <= d)[0]
        return self._client_rows(idx, np.full(len(idx), d - self.sim.cal.sim_start))

    def _client_rows(self, idx: np.ndarray, di: np.ndarray) -> pa.Table:
        """Clients `idx` as they stood at the end of day index `di` (days since the simulation start)."""
        sim, st = self.sim, self.state
        take = pa.array(idx)
        return pa.table(
            {
                "client_id": sim.client_ids.take(take),
                "client_name": self.names.take(take),
                "tax_id": self.tax.take(take),
                "registration_date": dates(sim.reg[idx]),
                "industry": self.industry.take(take),
                "current_credit_limit": st.limit[idx, di],
                "current_outstanding": st.outstanding[idx, di],
                "account_status": codes(ACCOUNT_STATUS_BY_CODE, st.status[idx, di]),
                "created_at": self.created.take(take),
                "updated_at": timestamps(idx, st.updated_day[idx, di]),
            }
        )

    def _clients_body(self, d: int) -> tuple[int, bytes]:
        """The snapshot of day d from the pre-formatted client versions (most rows repeat day to day)."""
        idx = np.nonzero(self.sim.reg <= d)[0]
        lines = self.client_lines
        chosen = [lines[v] for v in self.state.version[idx, d - self.sim.cal.sim_start].tolist()]
        return len(chosen), b"".join(chosen)

    def _format_client_versions(self) -> list[bytes]:
        st, lines, step = self.state, [], 500_000
        for lo in range(0, len(st.version_client), step):
            rows = self._client_rows(st.version_client[lo : lo + step], st.version_day[lo : lo + step])
            lines.extend(_csv_body(rows, "clients").splitlines(keepends=True))
        return lines

    def _format_all(self) -> None:
        """Format every client version, payment and order once; files are then assembled from bytes."""
        self.client_lines = self._format_client_versions()
        for table, rows in (
            ("payments", self._payment_rows(0, len(self.sim.p_id))),
            ("orders", self._order_rows(0, len(self.sim.o_id))),
        ):
            body = _csv_body(rows, table)
            ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n")) + 1
            self.formatted[table] = (body, np.concatenate([[0], ends]))

    def payments(self, d: int) -> pa.Table:
        return self._payment_rows(*np.searchsorted(self.sim.p_day, [d - 6, d + 1]))

    def _payment_rows(self, lo: int, hi: int) -> pa.Table:
        sim, sl = self.sim, slice(lo, hi)
        inv, day = sim.p_order[sl], sim.p_day[sl]
        return pa.table(
            {
                "payment_id": sim.p_id[sl],
                "client_id": sim.client_ids.take(pa.array(sim.p_client[sl])),
                "invoice_id": sim.invoice_ids.take(pa.array(inv)),
                "payment_date": dates(day),
                "due_date": dates(sim.o_due[inv]),
                "payment_amount": sim.p_amount[sl],
                "days_past_due": day - sim.o_due[inv],
                "payment_method": codes(PAYMENT_METHODS, sim.p_method[sl]),
                "created_at": timestamps(sim.p_id[sl], day),
            }
        )

    def orders(self, d: int) -> pa.Table:
        return self._order_rows(*np.searchsorted(self.sim.o_day, [d - 6, d + 1]))

    def _order_rows(self, lo: int, hi: int) -> pa.Table:
        sim, sl = self.sim, slice(lo, hi)
        return pa.table(
            {
                "order_id": sim.o_id[sl],
                "client_id": sim.client_ids.take(pa.array(sim.o_client[sl])),
                "order_date": dates(sim.o_day[sl]),
                "order_value": sim.o_value[sl],
                "order_status": codes(ORDER_STATUS_BY_CODE, sim.o_status[sl]),
                "invoice_id": sim.invoice_ids.take(pa.array(np.arange(lo, hi))),
                "due_date": dates(sim.o_due[sl]),
                "created_at": timestamps(sim.o_id[sl], sim.o_day[sl]),
            }
        )

    def _window_body(self, table: str, d: int) -> tuple[int, memoryview]:
        """Payments and orders are sorted by date, so a 7-day window is one run of pre-formatted lines."""
        days, (body, starts) = (
            (self.sim.p_day if table == "payments" else self.sim.o_day),
            self.formatted[table],
        )
        lo, hi = np.searchsorted(days, [d - 6, d + 1])
        return int(hi - lo), memoryview(body)[starts[lo] : starts[hi]]

    def _util_months(self, d: int) -> list[tuple[int, int]]:
        """(month, as-of day) of the months in the utilization file of day d: started in [d - 59, d]."""
        cal = self.sim.cal
        m_now = int(cal.month_of(d))
        return [
            (m, min(d, int(cal.month_end(m))))
            for m in (m_now - 2, m_now - 1, m_now)
            if m >= 0 and d - 59 <= cal.month_start[m] <= d
        ]

    def utilization(self, d: int) -> pa.Table:
        return pa.concat_tables(
            [self._util_rows(m, asof) for m, asof in self._util_months(d)] or [self._util_rows(0, -1)]
        )

    def _util_rows(self, m: int, asof: int) -> pa.Table:
        """Month m's rows as known at the end of day `asof` (the month's last day once it is over)."""
        sim, st, cal = self.sim, self.state, self.sim.cal
        start = cal.sim_start
        idx = np.nonzero((sim.reg <= asof) & (st.util_first_month <= m) & (st.util_last_month >= m))[0]
        month_start = int(cal.month_start[m])
        since = np.maximum(sim.reg[idx], month_start)  # a client registered mid-month averages from then
        before = np.where(since > start, st.cum[idx, np.maximum(since - start - 1, 0)], 0.0)
        avg = np.floor((st.cum[idx, asof - start] - before) / (asof - since + 1) + 1e-9).astype(np.int64)
        limit = st.limit[idx, asof - start]
        return pa.table(
            {
                "id": m * sim.n + idx + 100_001,
                "client_id": sim.client_ids.take(pa.array(idx)),
                "month": dates(np.full(len(idx), month_start)),
                "avg_outstanding": avg,
                "max_outstanding": st.run_max[idx, asof - start],
                "credit_limit": limit,
                "utilization_pct": np.round(100.0 * avg / limit, 2),
            }
        )

    def _util_body(self, d: int) -> tuple[int, bytes]:
        """Closed months are final: formatted once and reused by the ~30 files that repeat them."""
        rows, parts = 0, []
        for m, asof in self._util_months(d):
            if asof == int(self.sim.cal.month_end(m)):
                with self.lock:
                    if m not in self.closed_months:
                        table = self._util_rows(m, asof)
                        self.closed_months[m] = (table.num_rows, _csv_body(table, "utilization_monthly"))
                    n, body = self.closed_months[m]
            else:
                table = self._util_rows(m, asof)
                n, body = table.num_rows, _csv_body(table, "utilization_monthly")
            rows += n
            parts.append(body)
        return rows, b"".join(parts)

    def plans(self, d: int) -> pa.Table:
        sim = self.sim
        lo, hi = np.searchsorted(sim.pl_start, [d - 29, d + 1])
        first = np.arange(lo, hi)
        first = first[sim.pl_update[first] > d]  # created recently, not updated yet
        ulo, uhi = np.searchsorted(sim.pl_update[self.plan_by_update], [d - 29, d + 1])
        final = self.plan_by_update[ulo:uhi]
        idx = np.concatenate([first, final])
        updated = np.concatenate([np.zeros(len(first), bool), np.ones(len(final), bool)])
        order = np.argsort(sim.pl_id[idx], kind="stable")
        idx, updated = idx[order], updated[order]
        status = np.where(updated, sim.pl_final[idx], 0)
        upd_day = np.where(updated, sim.pl_update[idx], sim.pl_start[idx])
        completion = np.where(status == 1, sim.pl_update[idx], 0)
        return pa.table(
            {
                "plan_id": sim.pl_id[idx],
                "client_id": sim.client_ids.take(pa.array(sim.pl_client[idx])),
                "plan_start_date": dates(sim.pl_start[idx]),
                "plan_end_date": dates(sim.pl_end[idx]),
                "original_amount": sim.pl_amount[idx],
                "plan_status": codes(PLAN_STATUS_BY_CODE, status),
                "completion_date": pa.array(completion.astype(np.int32), pa.date32(), mask=status != 1),
                "created_at": timestamps(sim.pl_id[idx], sim.pl_start[idx]),
                "updated_at": timestamps(sim.pl_id[idx] + updated, upd_day),
            }
        )

    # writing --------------------------------------------------------------------------------------------

    def write_day(self, table: str, d: int, force: bool = False) -> tuple[int, int, Counter]:
        spec = contract.CSV_TABLES_BY_NAME[table]
        data = None
        if table == "clients":
            rows, body = self._clients_body(d)
        elif table == "utilization_monthly":
            rows, body = self._util_body(d)
        elif table in self.formatted:
            rows, body = self._window_body(table, d)
        else:
            data = self.builders[table](d)
            rows, body = data.num_rows, _csv_body(data, table)
        kinds: Counter = Counter()
        if self.dirty_rate > 0 and rows:
            data = data if data is not None else self.builders[table](d)
            rng = np.random.default_rng([self.sim.seed, 7919, contract.CSV_TABLES.index(spec), d])
            lines, kinds = dirty.dirty_rows(spec, data, d, rng, self.dirty_rate, force_all_kinds=force)
            body = dirty.splice(bytes(body), lines, rng)
        header = (",".join(spec.column_names) + "\n").encode()
        with open(self.landing / spec.folder / spec.file_name(_iso(d)), "wb") as fh:
            fh.write(header)
            fh.write(body)
        return rows, len(header) + len(body), kinds

    def write_all(self, workers: int = 2) -> ExportStats:
        for spec in contract.CSV_TABLES:
            (self.landing / spec.folder).mkdir(parents=True, exist_ok=True)
        self._format_all()
        jobs = [(t, int(d)) for t, days in self.sim.cal.export_days.items() for d in days]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda job: (*job, *self.write_day(*job)), jobs))
        if self.dirty_rate > 0:
            results = self._cover_every_kind(results)
        for table, _, rows, size, kinds in results:
            self.stats.files[table] += 1
            self.stats.rows[table] += rows
            self.stats.bytes += size
            self.stats.dirty_rows.update(kinds)
        self.write_hcpn()
        if self.dirty_rate > 0:
            self.write_bad_files()
        return self.stats

    def _cover_every_kind(self, results: list[tuple]) -> list[tuple]:
        """Rewrite a table's biggest file with one dirty row of every kind its rules allow when the random
        draw missed a kind (small landings), so that a dirty landing always holds all of them."""
        results = list(results)
        for spec in contract.CSV_TABLES:
            mine = [i for i, r in enumerate(results) if r[0] == spec.name]
            seen = {key.split(".", 1)[1] for i in mine for key in results[i][4]}
            if not mine or set(dirty.applicable_kinds(spec)) <= seen:
                continue
            biggest = max(mine, key=lambda i: (results[i][2], -results[i][1]))
            table, day, rows, _, _ = results[biggest]
            if rows:
                results[biggest] = (table, day, *self.write_day(table, day, force=True))
        return results

    def write_hcpn(self) -> None:
        sim = self.sim
        folder = self.landing / contract.HCPN_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        ids = sim.client_ids.to_pylist()
        count = 0
        for i in np.nonzero(sim.b_has)[0].tolist():
            path = folder / f"hcpn_{ids[i]}.json"
            path.write_text(json.dumps(bureau_report(sim, i), ensure_ascii=False) + "\n", encoding="utf-8")
            count += 1
            self.stats.bytes += path.stat().st_size
        self.stats.files[contract.HCPN_FOLDER] = count
        self.stats.rows[contract.HCPN_FOLDER] = count

    def write_bad_files(self) -> None:
        """Once per landing: a CSV with a wrong header, a binary file named like an export, and a bureau
        file that is not JSON. Each sits where no real export is (an outage day, a non-client)."""
        sim = self.sim
        rng = np.random.default_rng([sim.seed, 104_729])
        pay_day = _outage_day(sim, "payments")
        data = self.payments(pay_day)
        header = (
            "id_pago,id_cliente,id_factura,fecha_pago,fecha_vencimiento,valor,dias_mora,medio_pago,creado\n"
        )
        path = self.landing / "payments" / contract.PAYMENTS.file_name(_iso(pay_day))
        path.write_bytes(header.encode() + _csv_body(data, "payments"))
        self.stats.dirty_files["wrong_header"] = path.relative_to(self.landing).as_posix()

        ord_day = _outage_day(sim, "orders")
        path = self.landing / "orders" / contract.ORDERS.file_name(_iso(ord_day))
        path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + rng.bytes(2048))  # a spreadsheet, not a CSV
        self.stats.dirty_files["not_csv"] = path.relative_to(self.landing).as_posix()

        bogus = f"CL-X{rng.integers(10**6, 10**7)}"
        path = self.landing / contract.HCPN_FOLDER / f"hcpn_{bogus}.json"
        path.write_text(
            '{"fecha_consulta": "' + _iso(sim.cal.last_export).isoformat() + '", "estado_solicitud": "apro'
        )
        self.stats.dirty_files["invalid_json"] = path.relative_to(self.landing).as_posix()
        for kind in ("wrong_header", "not_csv", "invalid_json"):
            self.stats.dirty_rows[f"file:{kind}"] += 1


def bureau_report(sim: Simulation, i: int) -> dict:
    """The newest bureau report of client i, with the bureau's Spanish field names."""
    rejected = bool(sim.b_rejected[i])
    report: dict[str, object] = {
        "fecha_consulta": _iso(int(sim.b_day[i])).isoformat(),
        "estado_solicitud": "rechazado" if rejected else "aprobado",
        "motivo_rechazo": REJECTION_REASONS[int(sim.b_reason[i])] if rejected else None,
        "puntaje_credito": None if np.isnan(sim.b_score[i]) else int(sim.b_score[i]),
        "defaults_bureau": int(sim.b_defaults[i]),
        "deuda_total_externa": None if np.isnan(sim.b_debt[i]) else int(sim.b_debt[i]),
        "creditos_activos": None if sim.b_credits[i] < 0 else int(sim.b_credits[i]),
    }
    if sim.b_defaults_missing[i]:
        del report["defaults_bureau"]  # the bureau omits a zero now and then; the contract reads it as 0
    return report


def _outage_day(sim: Simulation, table: str) -> int:
    """A day without a real export of `table` (an outage), or the day before the first export."""
    cal = sim.cal
    all_days = np.arange(cal.first_export, cal.last_export + 1)
    missing = np.setdiff1d(all_days, cal.export_days[table])
    return int(missing[0]) if len(missing) else cal.first_export - 1


def _csv_body(data: pa.Table, table: str) -> bytes:
    """Rows without header. Clients carry free-text names (with commas), so strings are quoted there."""
    buf = io.BytesIO()
    quoting = "needed" if table == "clients" else "none"
    pacsv.write_csv(data, buf, pacsv.WriteOptions(include_header=False, quoting_style=quoting))
    return buf.getvalue()


def _iso(day: int) -> date:
    return to_date(day)
