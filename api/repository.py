"""Where the scores come from, hidden behind a narrow interface.

`ScoreRepository` is what the routes use. `PublishedSnapshotRepository` answers from the bundle the
pipeline publishes (`bundle`; docs/internals.md, "Scored mart and publishing"): the bundle is the API's
only input, it never opens the warehouse file, the model registry or the dbt project. It loads the scored
mart of the bundle CURRENT names fully into memory (numpy columns sorted by client and date, plus a dict
index of client ids), with the bundle's applicant scorer, and a background thread watches CURRENT and
swaps in a newer bundle as one reference assignment: a request holds the snapshot it started with until
it ends.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import TypeAdapter, ValidationError

from api.schemas import ClientScore, ModelCard, RecommendedAction, RiskLevel, ScoredBy
from bundle import CURRENT_FILE, Bundle, BundleError, check_bundle_name, open_bundle
from scoring.applicant import ApplicantScorer, ApplicantScoringUnavailable

log = logging.getLogger("riskmart.api")

EPOCH = date(1970, 1, 1)
REASON_RANKS = (1, 2, 3)


class SnapshotUnavailable(Exception):
    """No scored snapshot is loaded (nothing published yet, or the published one is unreadable)."""


class UnknownClient(Exception):
    """The client has no score in the snapshot."""


class NoScoreOnDate(Exception):
    """The client (or the whole snapshot) has no score on the date asked for."""


class UnknownBand(Exception):
    """A band filter naming no band of the snapshot: 422, with the bands there are."""

    def __init__(self, band: str, known: list[str]) -> None:
        super().__init__(band)
        self.band, self.known = band, known


class SnapshotError(Exception):
    """A published snapshot breaks the layout the API serves; it is not loaded."""


@dataclass(frozen=True)
class LookupResult:
    scores: list[dict[str, Any]]
    unknown_client_ids: list[str]
    no_score_on_date: list[str]


@dataclass(frozen=True)
class PageResult:
    score_date: date
    items: list[dict[str, Any]]
    last_client_id: str | None  # set when more rows follow this page


class ScoreRepository(Protocol):
    """What the routes need from a score store; a BigQuery-backed one implements the same methods."""

    def info(self) -> dict[str, Any]: ...

    def load_counts(self) -> dict[str, int]: ...

    def score(self, client_id: str, on: date | None) -> dict[str, Any]: ...

    def score_json(self, client_id: str, on: date | None) -> bytes: ...

    def history(self, client_id: str, start: date | None, end: date | None) -> list[dict[str, Any]]: ...

    def lookup(self, client_ids: Sequence[str], on: date | None) -> LookupResult: ...

    def page(
        self, on: date | None, risk_level: str | None, band: str | None, after: str | None, limit: int
    ) -> PageResult: ...

    def model_card(self) -> dict[str, Any] | None: ...

    def applicant_scorer(self) -> ApplicantScorer: ...


# Snapshot columns by kind: how each is decoded and whether a row may leave it empty.
FLOAT_COLUMNS = {
    "probability_of_default": True,  # required
    "model_probability": False,
    "rule_probability": False,
}
INT_COLUMNS = {"score": True, "rule_score": False, **{f"reason_{k}_points": False for k in REASON_RANKS}}
TEXT_COLUMNS = {
    "score_band": True,
    "segment": False,
    "risk_level": True,
    "recommended_action": True,
    "model_version": False,
    "scored_by": True,
    **{f"reason_{k}": False for k in REASON_RANKS},
}
# The feature value behind each reason, as text (the mart keeps numbers and categories alike as strings):
# nearly one distinct value per row, so kept as Arrow strings (~10 bytes a row), not a dictionary.
FREE_TEXT_COLUMNS = tuple(f"reason_{k}_value" for k in REASON_RANKS)
ALLOWED_VALUES = {
    "risk_level": {m.value for m in RiskLevel},
    "recommended_action": {m.value for m in RecommendedAction},
    "scored_by": {m.value for m in ScoredBy},
}
PROBABILITY_COLUMNS = ("probability_of_default", "model_probability", "rule_probability")
SNAPSHOT_COLUMNS = (
    "client_id", "score_date", *FLOAT_COLUMNS, *INT_COLUMNS, *TEXT_COLUMNS, *FREE_TEXT_COLUMNS
)  # fmt: skip


@dataclass(frozen=True)
class TextColumn:
    codes: np.ndarray  # int16/int32 index into values; len(values) - 1 is the null
    values: list[str | None]

    def code_of(self, value: str) -> int | None:
        try:
            return self.values.index(value)
        except ValueError:
            return None


@dataclass(frozen=True)
class FreeTextColumn:
    """Arrow strings, with their offsets and bytes at hand: one value is read without an Arrow scalar."""

    array: pa.Array
    offsets: np.ndarray
    data: memoryview
    validity: bytes | None  # Arrow's bitmap (bit i set: row i has a value); None when no row is empty

    @classmethod
    def of(cls, array: pa.Array) -> FreeTextColumn:
        if array.type != pa.string():  # int32 offsets
            raise TypeError(f"a free text column is Arrow string, not {array.type}")
        validity, offsets, data = array.buffers()
        start = array.offset
        return cls(
            array,
            np.frombuffer(offsets, dtype=np.int32)[start : start + len(array) + 1],
            memoryview(data if data is not None else b""),
            None if array.null_count == 0 else bytes(validity),
        )

    def value(self, i: int) -> str | None:
        if self.validity is not None:
            bit = self.array.offset + i
            if not (self.validity[bit >> 3] >> (bit & 7)) & 1:
                return None
        return str(self.data[self.offsets.item(i) : self.offsets.item(i + 1)], "utf-8")


class ResponseCache:
    """The JSON of the rows a snapshot has already answered, the `capacity` most recently used ones.

    Lives in its Snapshot, so a newly loaded snapshot starts empty and the old one goes with its snapshot.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[int, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, row: int) -> bytes | None:
        body = self._items.get(row)
        if body is not None:
            try:
                self._items.move_to_end(row)
            except KeyError:  # evicted by another thread in between: still the right bytes
                pass
        return body

    def put(self, row: int, body: bytes) -> None:
        if self.capacity <= 0:
            return
        self._items[row] = body
        while len(self._items) > self.capacity:
            try:
                self._items.popitem(last=False)
            except KeyError:  # emptied by another thread
                break


# One client's score as the API sends it: validated against ClientScore and serialized by pydantic, as
# FastAPI would with response_model=ClientScore.
_CLIENT_SCORE = TypeAdapter(ClientScore)
SCORE_CACHE_ROWS = 100_000


def client_score_json(record: dict[str, Any]) -> bytes:
    return _CLIENT_SCORE.dump_json(_CLIENT_SCORE.validate_python(record))


@dataclass
class Snapshot:
    """One published snapshot in memory. Rows are sorted by (client_id, score_date)."""

    file: str
    published_at: datetime
    loaded_at: datetime
    card: dict[str, Any] | None
    client_ids: list[str]  # sorted, unique; a client's number is its position
    client_index: dict[str, int]
    client_start: np.ndarray  # rows of client k are client_start[k]:client_start[k+1]
    client_of_row: np.ndarray
    day_of_row: np.ndarray  # days since 1970-01-01
    floats: dict[str, np.ndarray]  # NaN = null
    ints: dict[str, np.ndarray]  # stored as float32 (NaN = null; exact below 2**24) or float64
    texts: dict[str, TextColumn]
    free_texts: dict[str, FreeTextColumn]
    rows_by_day: np.ndarray  # row numbers sorted by (score_date, client_id)
    client_by_day: np.ndarray  # client number of each entry of rows_by_day
    day_bounds: dict[int, tuple[int, int]]  # day -> slice of rows_by_day
    dates: dict[int, date] = field(default_factory=dict)
    scorer: ApplicantScorer | None = None  # the bundle's applicant scorer (None: loaded from a bare file)
    # ClientScore JSON of rows already served (`PublishedSnapshotRepository.score_json`)
    responses: ResponseCache = field(default_factory=lambda: ResponseCache(SCORE_CACHE_ROWS))

    @property
    def rows(self) -> int:
        return int(self.day_of_row.shape[0])

    @property
    def latest_day(self) -> int:
        return max(self.day_bounds)

    def info(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "published_at": self.published_at,
            "loaded_at": self.loaded_at,
            "rows": self.rows,
            "clients": len(self.client_ids),
            "score_dates": len(self.day_bounds),
            "earliest_score_date": self.dates[min(self.day_bounds)],
            "latest_score_date": self.dates[self.latest_day],
            "model_version": _card_version(self.card),
        }

    def client_rows(self, client_id: str) -> tuple[int, int]:
        number = self.client_index.get(client_id)
        if number is None:
            raise UnknownClient(client_id)
        return int(self.client_start[number]), int(self.client_start[number + 1])

    def row_on(self, lo: int, hi: int, day: int) -> int | None:
        at = lo + int(np.searchsorted(self.day_of_row[lo:hi], day))
        return at if at < hi and self.day_of_row[at] == day else None

    @cached_property
    def _row_columns(self) -> tuple:
        """The columns of one row, in the order `row` reads them."""
        f, n, t, x = self.floats, self.ints, self.texts, self.free_texts
        reasons = tuple(
            (k, t[f"reason_{k}"], x[f"reason_{k}_value"], n[f"reason_{k}_points"]) for k in REASON_RANKS
        )
        return (
            f["probability_of_default"], f["model_probability"], f["rule_probability"], n["score"],
            t["score_band"], n["rule_score"], t["segment"], t["risk_level"], t["recommended_action"],
            t["model_version"], t["scored_by"], reasons,
        )  # fmt: skip

    def row(self, i: int) -> dict[str, Any]:
        """One row as the API's ClientScore shape (what `_record` makes of it); scalar reads, the fast path
        of single lookups: .item() gives Python numbers without numpy scalars in between, and only the
        reasons a row has are read."""
        pd, mp, rp, score, band, rule_score, segment, level, action, version, scored_by, reason_columns = (
            self._row_columns
        )
        reasons = []
        for k, reason_column, value_column, points_column in reason_columns:
            reason = reason_column.values[reason_column.codes.item(i)]
            if reason is not None:
                points = points_column.item(i)
                reasons.append(
                    {
                        "rank": k,
                        "reason": reason,
                        "value": value_column.value(i),
                        "points": None if points != points else int(points),
                    }
                )
        p, m, r, s, rs = pd.item(i), mp.item(i), rp.item(i), score.item(i), rule_score.item(i)
        return {
            "client_id": self.client_ids[self.client_of_row.item(i)],
            "score_date": self.dates[self.day_of_row.item(i)],
            "probability_of_default": None if p != p else p,
            "model_probability": None if m != m else m,
            "rule_probability": None if r != r else r,
            "score": None if s != s else int(s),
            "score_band": band.values[band.codes.item(i)],
            "rule_score": None if rs != rs else int(rs),
            "segment": segment.values[segment.codes.item(i)],
            "risk_level": level.values[level.codes.item(i)],
            "recommended_action": action.values[action.codes.item(i)],
            "reasons": reasons,
            "model_version": version.values[version.codes.item(i)],
            "scored_by": scored_by.values[scored_by.codes.item(i)],
        }

    def materialize(self, rows: np.ndarray | slice) -> list[dict[str, Any]]:
        """Many rows as the API's ClientScore shape: one vectorized read per column."""
        floats = {name: _nullable(arr[rows].tolist()) for name, arr in self.floats.items()}
        ints = {name: _nullable_int(arr[rows].tolist()) for name, arr in self.ints.items()}
        texts = {name: [col.values[c] for c in col.codes[rows].tolist()] for name, col in self.texts.items()}
        for name, col in self.free_texts.items():
            arr = col.array
            if isinstance(rows, slice):
                texts[name] = arr.slice(rows.start, rows.stop - rows.start).to_pylist()
            else:
                texts[name] = arr.take(pa.array(rows)).to_pylist()
        clients, dates = self.client_ids, self.dates
        out = []
        for n, (client, day) in enumerate(
            zip(self.client_of_row[rows].tolist(), self.day_of_row[rows].tolist(), strict=True)
        ):
            out.append(
                _record(
                    clients[client],
                    dates[day],
                    {name: values[n] for name, values in floats.items()},
                    {name: values[n] for name, values in ints.items()},
                    {name: values[n] for name, values in texts.items()},
                )
            )
        return out


def _record(
    client_id: str, day: date, f: dict[str, Any], i: dict[str, Any], t: dict[str, Any]
) -> dict[str, Any]:
    reasons = [
        {
            "rank": k,
            "reason": t[f"reason_{k}"],
            "value": t[f"reason_{k}_value"],
            "points": i[f"reason_{k}_points"],
        }
        for k in REASON_RANKS
        if t[f"reason_{k}"] is not None
    ]
    return {
        "client_id": client_id,
        "score_date": day,
        "probability_of_default": f["probability_of_default"],
        "model_probability": f["model_probability"],
        "rule_probability": f["rule_probability"],
        "score": i["score"],
        "score_band": t["score_band"],
        "rule_score": i["rule_score"],
        "segment": t["segment"],
        "risk_level": t["risk_level"],
        "recommended_action": t["recommended_action"],
        "reasons": reasons,
        "model_version": t["model_version"],
        "scored_by": t["scored_by"],
    }


def _nullable(values: list[float]) -> list[float | None]:
    return [v if v == v else None for v in values]


def _nullable_int(values: list[float]) -> list[int | None]:
    return [int(v) if v == v else None for v in values]


def _card_version(card: dict[str, Any] | None) -> str | None:
    return None if not card else card["model_version"]


def validate_model_card(card: dict[str, Any] | None, source: str) -> dict[str, Any] | None:
    """The published champion card as the API serves it; None when no model is published."""
    if card is None:
        return None
    try:
        return ModelCard.model_validate(card).model_dump(mode="json", exclude_none=False)
    except ValidationError as exc:
        raise SnapshotError(f"{source} does not hold a model card: {exc}") from exc


def day_number(d: date) -> int:
    return (d - EPOCH).days


def load_snapshot(
    path: Path,
    card: dict[str, Any] | None = None,
    *,
    served_as: str | None = None,
    published_at: datetime | None = None,
) -> Snapshot:
    """Read and check one scored mart parquet file; raises SnapshotError when it breaks the layout.
    `served_as` and `published_at` say what is served (a bundle's name and publish time; default the file's)."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise SnapshotError(f"{path.name} is not a readable parquet file: {exc}") from exc
    missing = [c for c in SNAPSHOT_COLUMNS if c not in schema.names]
    if missing:
        raise SnapshotError(f"{path.name} lacks the columns {missing}")
    try:
        table = pq.read_table(path, columns=list(SNAPSHOT_COLUMNS)).combine_chunks()
    except (OSError, pa.ArrowException) as exc:
        raise SnapshotError(f"{path.name} could not be read: {exc}") from exc
    if table.num_rows == 0:
        raise SnapshotError(f"{path.name} holds no scores")

    def column(name: str, arrow_type: pa.DataType, required: bool) -> pa.Array:
        array = table[name].combine_chunks()
        try:
            array = array.cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SnapshotError(f"{path.name}: column {name} is not {arrow_type}: {exc}") from exc
        if required and array.null_count:
            raise SnapshotError(f"{path.name}: column {name} has {array.null_count} empty values")
        return array

    ids = column("client_id", pa.string(), True)
    days = column("score_date", pa.date32(), True).cast(pa.int32()).to_numpy()

    # Number clients in code point order, then sort rows by (client, date) as integers: fast at 3M rows.
    encoded = pc.dictionary_encode(ids)
    names = encoded.dictionary.to_pylist()
    order = sorted(range(len(names)), key=names.__getitem__)
    number_of_code = np.empty(len(names), dtype=np.int32)
    number_of_code[order] = np.arange(len(names), dtype=np.int32)
    client_ids = [names[k] for k in order]
    clients = number_of_code[encoded.indices.to_numpy()]
    perm = np.lexsort((days, clients))
    clients, days = clients[perm], days[perm]
    same = (clients[1:] == clients[:-1]) & (days[1:] == days[:-1])
    if same.any():
        at = int(np.flatnonzero(same)[0])
        raise SnapshotError(
            f"{path.name}: client {client_ids[clients[at]]!r} has two scores on {EPOCH + timedelta(int(days[at]))}"
        )
    client_start = np.searchsorted(clients, np.arange(len(client_ids) + 1, dtype=np.int32)).astype(np.int64)

    floats: dict[str, np.ndarray] = {}
    for name, required in FLOAT_COLUMNS.items():
        values = column(name, pa.float64(), required).to_numpy(zero_copy_only=False)[perm]
        if required and np.isnan(values).any():
            raise SnapshotError(f"{path.name}: column {name} has NaN values")
        floats[name] = values
    for name in PROBABILITY_COLUMNS:
        values = floats[name]
        if ((values < 0) | (values > 1)).any():
            raise SnapshotError(f"{path.name}: column {name} has values outside [0, 1]")
    ints: dict[str, np.ndarray] = {}
    for name, required in INT_COLUMNS.items():
        array = column(name, pa.int64(), required)
        values = array.to_numpy() if required else array.to_numpy(zero_copy_only=False)  # nulls: NaN
        # Scores and points are small integers: float32 holds them exactly (and NaN for null) below 2**24.
        exact = bool(np.nanmax(np.abs(values), initial=0) < 2**24)
        ints[name] = values[perm].astype(np.float32 if exact else np.float64)
    texts: dict[str, TextColumn] = {}
    for name, required in TEXT_COLUMNS.items():
        encoded_text = pc.dictionary_encode(column(name, pa.string(), required))
        values = encoded_text.dictionary.to_pylist()
        bad = set(values) - ALLOWED_VALUES.get(name, set(values))
        if bad:
            raise SnapshotError(f"{path.name}: column {name} has values {sorted(bad)}")
        code_type = np.int16 if len(values) < 2**15 - 1 else np.int32
        codes = encoded_text.indices.fill_null(len(values)).to_numpy().astype(code_type)[perm]
        texts[name] = TextColumn(codes, [*values, None])
    free_texts = {
        name: FreeTextColumn.of(column(name, pa.string(), False).take(pa.array(perm)))
        for name in FREE_TEXT_COLUMNS
    }

    rows_by_day = np.lexsort((clients, days)).astype(np.int32)
    days_sorted = days[rows_by_day]
    unique_days, starts = np.unique(days_sorted, return_index=True)
    ends = [*starts[1:].tolist(), len(days_sorted)]
    day_bounds = {int(d): (int(s), int(e)) for d, s, e in zip(unique_days, starts, ends, strict=True)}

    return Snapshot(
        file=served_as or path.name,
        published_at=published_at or datetime.fromtimestamp(path.stat().st_mtime, UTC),
        loaded_at=datetime.now(UTC),
        card=card,
        client_ids=client_ids,
        client_index={c: k for k, c in enumerate(client_ids)},
        client_start=client_start,
        client_of_row=clients,
        day_of_row=days,
        floats=floats,
        ints=ints,
        texts=texts,
        free_texts=free_texts,
        rows_by_day=rows_by_day,
        client_by_day=clients[rows_by_day],
        day_bounds=day_bounds,
        dates={d: EPOCH + timedelta(days=d) for d in day_bounds},
    )


def load_bundle(bundle: Bundle) -> Snapshot:
    """A verified bundle as the API serves it: its scored mart, its card and its applicant scorer. Raises
    SnapshotError when any part is unusable: the bundle is served whole or not at all."""
    card = validate_model_card(bundle.model_card(), f"bundle {bundle.name}")
    snapshot = load_snapshot(
        bundle.scores_path, card, served_as=bundle.name, published_at=bundle.published_at
    )
    try:
        snapshot.scorer = ApplicantScorer(bundle)
    except ApplicantScoringUnavailable as exc:
        raise SnapshotError(f"bundle {bundle.name}: applicant scoring cannot be set up: {exc}") from exc
    return snapshot


class PublishedSnapshotRepository:
    """Scores from the bundle `<publish_dir>/CURRENT` names, reloaded in the background when CURRENT
    changes."""

    def __init__(
        self, publish_dir: Path, poll_seconds: float = 1.0, score_cache_rows: int = SCORE_CACHE_ROWS
    ) -> None:
        self.publish_dir = publish_dir
        self.poll_seconds = poll_seconds
        self.score_cache_rows = score_cache_rows
        self._snapshot: Snapshot | None = None
        self._pointer_state: tuple[int, int, int] | None = None
        self._failed: str | None = None
        self.last_error: str | None = None
        self.loads = {"ok": 0, "error": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> None:
        """Load what is published now, then watch CURRENT in a daemon thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="snapshot-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # the watcher must outlive any one bad snapshot or file system hiccup
                log.exception("snapshot refresh failed")

    def refresh(self) -> bool:
        """Load the bundle CURRENT names if it changed; True when a new one was swapped in."""
        pointer = self.publish_dir / CURRENT_FILE
        try:
            st = pointer.stat()
        except FileNotFoundError:
            return False
        state = (st.st_mtime_ns, st.st_size, st.st_ino)
        if state == self._pointer_state:
            return False
        name = pointer.read_text(encoding="utf-8").strip()
        self._pointer_state = state
        current = self._snapshot
        if not name or (current is not None and current.file == name) or name == self._failed:
            return False
        started = time.perf_counter()
        try:
            check_bundle_name(name, self.publish_dir)
            snapshot = load_bundle(open_bundle(self.publish_dir / name))
        except (BundleError, SnapshotError, OSError) as exc:
            self._record_failure(name, str(exc))
            return False
        snapshot.responses = ResponseCache(self.score_cache_rows)
        self._snapshot = snapshot  # the swap: one reference assignment, requests in flight keep theirs
        # Arrow's allocator keeps what the load freed (the read table, casts) unless told to give it back.
        pa.default_memory_pool().release_unused()
        self._failed = None
        self.last_error = None
        self.loads["ok"] += 1
        log.info("loaded snapshot %s: %d rows in %.2fs", name, snapshot.rows, time.perf_counter() - started)
        return True

    def _record_failure(self, name: str, message: str) -> None:
        # Keep serving the previous bundle; retry only when CURRENT names another one.
        self._failed = name
        self.last_error = message
        self.loads["error"] += 1
        log.error("snapshot %s not loaded: %s", name, message)

    # reads

    @property
    def snapshot(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise SnapshotUnavailable(self.last_error or f"nothing published in {self.publish_dir} yet")
        return snapshot

    def info(self) -> dict[str, Any]:
        return self.snapshot.info()

    def load_counts(self) -> dict[str, int]:
        return dict(self.loads)

    def score(self, client_id: str, on: date | None) -> dict[str, Any]:
        snap = self.snapshot
        return snap.row(self._score_row(snap, client_id, on))

    def score_json(self, client_id: str, on: date | None) -> bytes:
        """`score` as the API's ClientScore JSON: validated and serialized by pydantic the first time a
        row is asked for, then the same bytes from the snapshot's cache until a newer snapshot replaces it."""
        snap = self.snapshot
        row = self._score_row(snap, client_id, on)
        body = snap.responses.get(row)
        if body is None:
            body = client_score_json(snap.row(row))
            snap.responses.put(row, body)
        return body

    @staticmethod
    def _score_row(snap: Snapshot, client_id: str, on: date | None) -> int:
        lo, hi = snap.client_rows(client_id)
        row = hi - 1 if on is None else snap.row_on(lo, hi, day_number(on))
        if row is None:
            raise NoScoreOnDate(on)
        return row

    def history(self, client_id: str, start: date | None, end: date | None) -> list[dict[str, Any]]:
        snap = self.snapshot
        lo, hi = snap.client_rows(client_id)
        days = snap.day_of_row[lo:hi]
        first = lo if start is None else lo + int(np.searchsorted(days, day_number(start), "left"))
        last = hi if end is None else lo + int(np.searchsorted(days, day_number(end), "right"))
        rows = snap.materialize(slice(first, last))
        rows.reverse()
        return rows

    def lookup(self, client_ids: Sequence[str], on: date | None) -> LookupResult:
        snap = self.snapshot
        day = None if on is None else day_number(on)
        rows: list[int] = []
        unknown: list[str] = []
        missing: list[str] = []
        for client_id in dict.fromkeys(client_ids):
            number = snap.client_index.get(client_id)
            if number is None:
                unknown.append(client_id)
                continue
            lo, hi = int(snap.client_start[number]), int(snap.client_start[number + 1])
            row = hi - 1 if day is None else snap.row_on(lo, hi, day)
            if row is None:
                missing.append(client_id)
            else:
                rows.append(row)
        scores = snap.materialize(np.asarray(rows, dtype=np.int64)) if rows else []
        return LookupResult(scores, unknown, missing)

    def page(
        self, on: date | None, risk_level: str | None, band: str | None, after: str | None, limit: int
    ) -> PageResult:
        snap = self.snapshot
        day = snap.latest_day if on is None else day_number(on)
        bounds = snap.day_bounds.get(day)
        if bounds is None:
            raise NoScoreOnDate(on)
        lo, hi = bounds
        if band is not None and snap.texts["score_band"].code_of(band) is None:
            raise UnknownBand(band, sorted(v for v in snap.texts["score_band"].values if v is not None))
        if after is not None:
            # Keyset: first client strictly after the cursor, by client number (code point order).
            first_number = bisect.bisect_right(snap.client_ids, after)
            lo += int(np.searchsorted(snap.client_by_day[lo:hi], first_number, "left"))
        candidates = snap.rows_by_day[lo:hi]
        if risk_level is not None or band is not None:
            keep = np.ones(candidates.shape[0], dtype=bool)
            for name, wanted in (("risk_level", risk_level), ("score_band", band)):
                if wanted is None:
                    continue
                code = snap.texts[name].code_of(wanted)
                if code is None:
                    keep[:] = False
                    break
                keep &= snap.texts[name].codes[candidates] == code
            candidates = candidates[np.flatnonzero(keep)[: limit + 1]]
        chosen = candidates[: limit + 1]
        items = snap.materialize(chosen[:limit])
        more = chosen.shape[0] > limit
        return PageResult(snap.dates[day], items, items[-1]["client_id"] if more and items else None)

    def model_card(self) -> dict[str, Any] | None:
        return self.snapshot.card

    def applicant_scorer(self) -> ApplicantScorer:
        scorer = self.snapshot.scorer
        if scorer is None:
            raise SnapshotUnavailable("the loaded snapshot carries no applicant scoring")
        return scorer
