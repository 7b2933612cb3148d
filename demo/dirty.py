"""Dirty rows: corrupted extra copies of real rows, one kind for every rule of the data contract.

A dirty row is always an extra line (a copy of a clean row of the same file with one rule broken),
spliced in at a random line of the file, so the clean history underneath stays complete. The kinds a
table gets follow from its spec in contract/__init__.py, so a new rule there brings a new kind here.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from contract import DATE, FLOAT, INTEGER, TIMESTAMP, TableSpec
from demo.calendar import to_date

BAD_NUMBERS = ("12..5", "1O0", "abc", "3.4.5", "$100", "1 000")
BAD_DATES = ("2024-02-30", "31/12/2024", "2024-13-01", "not a date")
BAD_TIMESTAMPS = ("2024-02-30 10:00:00", "31/12/2024 10:00", "2024-13-01 08:00:00", "yesterday")
NOT_ALLOWED = ("on_hold", "pending", "unknown", "frozen")


def _pair_kind(spec: TableSpec, a: str, b: str) -> str:
    return f"{a}_before_{b}" if spec.column(a).type in (DATE, TIMESTAMP) else f"{a}_below_{b}"


def applicable_kinds(spec: TableSpec) -> list[str]:
    """The dirty-row kinds that break a rule of this table."""
    cols = spec.columns
    kinds = []
    if any(c.required for c in cols):
        kinds.append("missing_required")
    if any(c.type in (INTEGER, FLOAT) for c in cols):
        kinds.append("unparseable_number")
    if any(c.type in (DATE, TIMESTAMP) for c in cols):
        kinds.append("unparseable_date")
    if any(c.accepted_values for c in cols):
        kinds.append("value_not_allowed")
    if _negatable(spec):
        kinds.append("negative_amount")
    if any(c.not_after_file_date for c in cols):
        kinds.append("date_after_file_date")
    kinds += [f"duplicate_{k}" for k in spec.unique_within_file]
    if spec.client_must_exist:
        kinds.append("unknown_client")
    kinds += [_pair_kind(spec, a, b) for a, b in spec.ordered_pairs]
    return kinds


def _negatable(spec: TableSpec) -> list[str]:
    """Money columns with a lower bound that can go negative without breaking an ordering rule too."""
    left = {a for a, _ in spec.ordered_pairs}
    return [
        c.name for c in spec.columns if c.type == FLOAT and c.min_value is not None and c.name not in left
    ]


def dirty_rows(
    spec: TableSpec,
    data: pa.Table,
    file_day: int,
    rng: np.random.Generator,
    rate: float,
    force_all_kinds: bool,
) -> tuple[list[bytes], Counter]:
    """CSV lines of corrupted copies of rows of `data` (about `rate` of its rows), and counts per kind."""
    kinds_all = applicable_kinds(spec)
    n = int(rng.binomial(data.num_rows, rate))
    kinds = (list(kinds_all) if force_all_kinds else []) + [
        kinds_all[i] for i in rng.integers(0, len(kinds_all), n)
    ]
    if not kinds:
        return [], Counter()
    src = rng.integers(0, data.num_rows, len(kinds))
    # a duplicate is a pair of extra rows sharing a made-up key, so that no clean row is caught in it
    twins = [i for i, k in enumerate(kinds) if k.startswith("duplicate_")]
    kinds += [kinds[i] for i in twins]
    src = np.concatenate([src, src[twins]]).astype(np.int64)
    picked = data.take(pa.array(src))
    cols = {name: pc.cast(picked.column(name), pa.string()).to_pylist() for name in spec.column_names}
    file_date = to_date(file_day)
    for r, kind in enumerate(kinds):
        # copies never reuse a clean row's unique key: only their own rule is broken
        for key in spec.unique_within_file:
            cols[key][r] = f"CL-X{file_day % 10_000:04d}{r:05d}"
        if r < len(kinds) - len(twins):
            _corrupt(spec, cols, r, kind, file_date, rng)
    for j, i in enumerate(twins):
        for key in spec.unique_within_file:
            cols[key][len(kinds) - len(twins) + j] = cols[key][i]
    table = pa.table({name: pa.array(cols[name], pa.string()) for name in spec.column_names})
    buf = io.BytesIO()
    quoting = "needed" if spec.name == "clients" else "none"
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style=quoting))
    lines = buf.getvalue().split(b"\n")[:-1]
    return lines, Counter(f"{spec.name}.{k}" for k in kinds)


def _corrupt(spec: TableSpec, cols: dict[str, list], r: int, kind: str, file_date: date, rng) -> None:
    def pick(names: list[str]) -> str:
        return names[int(rng.integers(0, len(names)))]

    def choose(values: tuple[str, ...]) -> str:
        return values[int(rng.integers(0, len(values)))]

    columns = spec.columns
    if kind == "missing_required":
        cols[pick([c.name for c in columns if c.required])][r] = None
    elif kind == "unparseable_number":
        cols[pick([c.name for c in columns if c.type in (INTEGER, FLOAT)])][r] = choose(BAD_NUMBERS)
    elif kind == "unparseable_date":
        col = spec.column(pick([c.name for c in columns if c.type in (DATE, TIMESTAMP)]))
        cols[col.name][r] = choose(BAD_DATES if col.type == DATE else BAD_TIMESTAMPS)
    elif kind == "value_not_allowed":
        cols[pick([c.name for c in columns if c.accepted_values])][r] = choose(NOT_ALLOWED)
    elif kind == "negative_amount":
        name = pick(_negatable(spec))
        value = cols[name][r]
        cols[name][r] = f"-{max(abs(float(value)) if value else 1.0, 1.0):.2f}"
    elif kind == "date_after_file_date":
        name = pick([c.name for c in columns if c.not_after_file_date])
        cols[name][r] = (file_date + timedelta(days=int(rng.integers(1, 6)))).isoformat()
    elif kind.startswith("duplicate_"):
        # same key as its twin, different content: which of the two is right cannot be told
        other = next(c.name for c in columns if c.type == FLOAT and c.name not in spec.unique_within_file)
        cols[other][r] = str(int(float(cols[other][r] or 0)) + 1000 + int(rng.integers(0, 9000)))
    elif kind == "unknown_client":
        cols["client_id"][r] = f"CL-X{int(rng.integers(10**6, 10**7))}"
    else:
        a, b = next((a, b) for a, b in spec.ordered_pairs if _pair_kind(spec, a, b) == kind)
        if spec.column(a).type in (DATE, TIMESTAMP):
            start = date.fromisoformat(cols[b][r])
            cols[a][r] = (start - timedelta(days=int(rng.integers(1, 11)))).isoformat()
        else:
            bigger = float(cols[b][r] or 0)
            if bigger < 2:
                cols[b][r] = "1000"
                bigger = 1000.0
            cols[a][r] = str(int(bigger // 2))


def splice(body: bytes, lines: list[bytes], rng: np.random.Generator) -> bytes:
    """Insert `lines` at random line boundaries of a CSV body."""
    if not lines:
        return body
    positions = np.sort(rng.integers(0, len(body) + 1, len(lines)))
    parts: list[bytes] = []
    prev = 0
    for pos, line in zip(positions.tolist(), lines, strict=True):
        cut = body.rfind(b"\n", 0, pos) + 1
        parts.append(body[prev:cut])
        parts.append(line + b"\n")
        prev = cut
    parts.append(body[prev:])
    return b"".join(parts)
