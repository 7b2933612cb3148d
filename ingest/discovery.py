"""Find the deliveries in a landing folder and say what each one is.

A delivery is one file as it was when we read it: its path relative to the landing root and the
sha256 of its content. The same path with new content is a new delivery (a corrected export); the
same content seen again is the same delivery and never loads twice. A path put back to content it had
before (A, then B, then A again) is a new delivery too: it is not what the path last delivered, so it
loads again, as re-delivery number 1 of that content (`Delivery.redelivery`), with its own file_id.

The landing is a local folder or an fsspec URL (`gs://bucket/prefix` with gcsfs, `memory://...`): both are
listed through fsspec; a local file is then read as a local file (DuckDB and Python at full speed), a remote
one through its fsspec file system (and DuckDB reads it through the same file system, registered on the
run's connection).

Discovery never raises on a badly named file: it marks it with the reason it cannot be loaded, so the
loader can log it as rejected and go on with the rest. Hidden files and folders (names starting with
a dot, e.g. `.DS_Store`, editor swap files) are not deliveries and are skipped.

Hashing reads every byte of the landing, and a daily landing keeps every earlier day's files: at 20,000
clients x 24 months 23,000 files and 3.7 GB, read again every day to find one day of new files. With a
hash cache (`HashCache`, a JSON file the caller keeps beside its warehouse) a file is read only when it is
new or changed: the cache remembers each file's hash and line count with the size and modification time
(a remote file: its version) it had when it was read, and a file with the same size and time is not read
again; a remote file only when its version is an object generation (GCS), which every write changes. As in git's index, a local file's time is trusted only when it is older than
that read by more than RACY_SECONDS: on a file system whose clock ticks coarsely, a rewrite within the
tick of the read keeps the time, and such a file is read again. A missing or unreadable cache is an empty
one; discovery then reads every file, as without it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import duckdb
import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem

from contract import (
    CSV_FILE_PATTERN,
    CSV_TABLES,
    CSV_TABLES_BY_NAME,
    HCPN_FILE_PATTERN,
    HCPN_FOLDER,
    HCPN_TABLE,
)

HASH_CHUNK_BYTES = 1 << 20
# a local file's modification time is trusted as its identity only when older than its last read by this much
RACY_SECONDS = 2
NEWLINE = ord("\n")
# load order: clients first (the client-exists rule needs them), the bureau reports last
TABLE_ORDER: dict[str, int] = {t.name: i for i, t in enumerate(CSV_TABLES)} | {HCPN_TABLE: len(CSV_TABLES)}


@dataclass(frozen=True)
class Delivery:
    """One landing file as found: where it is, what it should load into, and its identity."""

    path: Path | str  # absolute local path, or the URL of a remote file (`gs://bucket/prefix/clients/...`)
    relpath: str  # path relative to the landing root, with '/' separators
    table: str | None  # raw table it loads into; None when the folder is unknown
    export_date: date | None  # from the file name (bureau files: known only after parsing)
    client_id: str | None  # bureau files: the client id from the file name
    size: int
    mtime_ns: int
    content_hash: str  # sha256 of the content
    problem: str | None  # why the file cannot be loaded as the contract, or None
    lines: int = 0  # physical lines (a last line without a line break counts)
    redelivery: int = 0  # earlier deliveries of this very content at this path (A, B, then A again: 1)
    # a remote file's fsspec file system (None: a local file) and its version when it was hashed
    fs: Any = field(default=None, compare=False, repr=False)
    version: str = ""
    read_at_ns: int = field(default=0, compare=False, repr=False)  # when its content was read and hashed

    @property
    def file_id(self) -> str:
        """sha256 of (path, content hash[, re-delivery number]): one delivery of one file."""
        return delivery_id(self.relpath, self.content_hash, self.redelivery)

    @property
    def is_bureau(self) -> bool:
        return self.table == HCPN_TABLE

    def open(self) -> IO[bytes]:
        """The file's bytes."""
        return self.path.open("rb") if self.fs is None else self.fs.open(self.path, "rb")

    def open_text(self) -> IO[str]:
        """The file as UTF-8 text (a BOM dropped, undecodable bytes replaced, line ends as written)."""
        if self.fs is None:
            return self.path.open(encoding="utf-8-sig", errors="replace", newline="")
        return io.TextIOWrapper(self.open(), encoding="utf-8-sig", errors="replace", newline="")

    def unchanged_on_disk(self) -> bool:
        """True when the file still has the size and mtime (remote: version) it had when it was hashed."""
        try:
            if self.fs is None:
                stat = self.path.stat()
                return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns
            info = self.fs.info(self.path)
        except OSError:
            return False
        return info["size"] == self.size and _version(info) == self.version


def _version(info: dict) -> str:
    """What changes when a remote file is rewritten: GCS's generation, else its modification time."""
    for key in ("generation", "mtime", "updated", "LastModified", "created"):
        if info.get(key) is not None:
            return f"{key}={info[key]}"
    return ""


@dataclass(frozen=True)
class Landing:
    """A landing folder: a local folder, or a folder of an fsspec file system (`gs://bucket/prefix`)."""

    fs: Any  # fsspec file system
    root: str  # the folder, as the file system names it (no protocol)
    url: str  # as given

    @property
    def local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB's readers open the remote files through the same fsspec file system."""
        if not self.local:
            con.register_filesystem(self.fs)


def open_landing(landing: Path | str | Landing) -> Landing:
    """The landing folder `landing` names: a local path, or an fsspec URL (`gs://bucket/prefix`)."""
    if isinstance(landing, Landing):
        return landing
    text = str(landing)
    if "://" not in text:
        path = Path(text).resolve()
        if not path.is_dir():
            raise FileNotFoundError(f"landing folder {path} does not exist")
        return Landing(LocalFileSystem(), path.as_posix(), text)
    fs, root = fsspec.core.url_to_fs(text)
    root = root.rstrip("/")
    if not fs.isdir(root):
        raise FileNotFoundError(f"landing folder {text} does not exist (or is not a folder)")
    return Landing(fs, root, text)


def delivery_id(relpath: str, content_hash: str, redelivery: int = 0) -> str:
    key = f"{relpath}\n{content_hash}" + (f"\n{redelivery}" if redelivery else "")
    return hashlib.sha256(key.encode()).hexdigest()


def hash_and_count_lines(handle: IO[bytes]) -> tuple[str, int]:
    """sha256 of an open file's content and its number of physical lines, in one pass; closes it."""
    digest = hashlib.sha256()
    newlines, last = 0, b"\n"
    with handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            # numpy counts several times faster than bytes.count and lets the other threads run
            newlines += int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == NEWLINE))
            last = chunk[-1:]
    return digest.hexdigest(), newlines + (last != b"\n")


def classify(relpath: str) -> tuple[str | None, date | None, str | None, str | None]:
    """(table, export_date, bureau client_id, problem) for a path relative to the landing root."""
    parts = relpath.split("/")
    if len(parts) == 1:
        return None, None, None, "file at the landing root; files belong in a table folder (e.g. payments/)"
    folder, name = parts[0], parts[-1]
    known = sorted([*CSV_TABLES_BY_NAME, HCPN_FOLDER])
    if folder == HCPN_FOLDER:
        table = HCPN_TABLE
    elif folder in CSV_TABLES_BY_NAME:
        table = folder
    else:
        return None, None, None, f"unknown folder {folder!r}; expected one of {', '.join(known)}"
    if len(parts) > 2:
        return table, None, None, f"file in a subfolder of {folder}/; the contract has no subfolders"
    if table == HCPN_TABLE:
        match = HCPN_FILE_PATTERN.match(name)
        if not match:
            return table, None, None, f"file name {name!r} does not match hcpn_<client_id>.json"
        return table, None, match.group("client_id"), None
    match = CSV_FILE_PATTERN.match(name)
    if not match or match.group("table") != table:
        return table, None, None, f"file name {name!r} does not match {table}_YYYY-MM-DD.csv"
    try:
        export_date = date.fromisoformat(match.group("date"))
    except ValueError:
        return table, None, None, f"file name {name!r} has an invalid export date {match.group('date')!r}"
    return table, export_date, None, None


def _walk(landing: Landing) -> Iterable[str]:
    """Every file under the landing root (hidden files and folders skipped), as the file system names it."""
    # a local folder through os.walk: fsspec's walk stats every entry in Python, 0.3 s for 23,000 files
    walk = (
        os.walk(landing.root, followlinks=True)
        if landing.local
        else landing.fs.walk(landing.root, topdown=True)
    )
    for root, dirs, files in walk:
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield f"{root.rstrip('/')}/{name}"


def _relpath(landing: Landing, path: str) -> str:
    return path[len(landing.root.rstrip("/")) + 1 :]


class HashCache:
    """What discovery read of each file: {path as the file system names it: [size, time or version, content
    hash, lines, read at (ns)]}, kept in a JSON file between runs (see the module's docstring)."""

    FORMAT = 1

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries: dict[str, list] = stored["files"] if stored.get("format") == self.FORMAT else {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.entries = {}

    def known(self, key: str, size: int, stamp: int | str, local: bool) -> tuple[str, int, int] | None:
        """(content hash, lines, read at) of the file if it has the size and time (version) it had when read."""
        entry = self.entries.get(key)
        if not isinstance(entry, list) or len(entry) != 5 or entry[0] != size or entry[1] != stamp:
            return None
        if local and not stamp < entry[4] - RACY_SECONDS * 1_000_000_000:
            return None  # modified within RACY_SECONDS of the read: a rewrite in that tick keeps the time
        if not local and not str(stamp).startswith("generation="):
            return None  # only an object version (GCS's generation) changes with every write of a remote file
        return entry[2], entry[3], entry[4]

    def save(self, deliveries: list[Delivery]) -> None:
        """Remember these deliveries (the files of this discovery; files gone from the landing are dropped)."""
        files = {
            str(d.path): [
                d.size,
                d.mtime_ns if d.fs is None else d.version,
                d.content_hash,
                d.lines,
                d.read_at_ns,
            ]
            for d in deliveries
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps({"format": self.FORMAT, "files": files}), encoding="utf-8")
        partial.replace(self.path)  # atomic: a run killed here leaves the old cache or the new one


def _hash(open_file, cache: HashCache | None, key: str, size: int, stamp: int | str, local: bool, read: bool):
    """(content hash, lines, read at) from the cache when it knows the file as it is, else by reading it (None
    instead when not `read`)."""
    known = cache.known(key, size, stamp, local) if cache is not None else None
    if known is not None or not read:
        return known
    read_at = time.time_ns()
    return (*hash_and_count_lines(open_file()), read_at)


def _describe(
    landing: Landing, path: str, cache: HashCache | None = None, read: bool = True
) -> Delivery | None:
    """The file as a delivery; with `read` false, only a local file the cache knows as it is (else None)."""
    relpath = _relpath(landing, path)
    table, export_date, client_id, problem = classify(relpath)
    if landing.local:
        local = Path(path)
        stat = local.stat()
        hashed = _hash(
            lambda: local.open("rb"), cache, str(local), stat.st_size, stat.st_mtime_ns, local=True, read=read
        )
        if hashed is None:
            return None
        content_hash, lines, read_at = hashed
        return Delivery(
            path=local,
            relpath=relpath,
            table=table,
            export_date=export_date,
            client_id=client_id,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            content_hash=content_hash,
            problem=problem,
            lines=lines,
            read_at_ns=read_at,
        )
    info = landing.fs.info(path)
    url, version = landing.fs.unstrip_protocol(path), _version(info)
    content_hash, lines, read_at = _hash(
        lambda: landing.fs.open(path, "rb"), cache, url, info["size"], version, local=False, read=True
    )
    return Delivery(
        path=url,
        relpath=relpath,
        table=table,
        export_date=export_date,
        client_id=client_id,
        size=info["size"],
        mtime_ns=0,
        content_hash=content_hash,
        problem=problem,
        lines=lines,
        fs=landing.fs,
        version=version,
        read_at_ns=read_at,
    )


def discover(
    landing: Path | str | Landing, workers: int = 6, hash_cache: Path | None = None
) -> list[Delivery]:
    """Every file under `landing`, hashed, in load order (table order, then export date, then path); with
    `hash_cache`, a file the cache knows unchanged is not read again, and the cache is then updated.

    The order depends only on names and contents, never on the order the file system lists them.
    """
    landing = open_landing(landing)
    cache = HashCache(hash_cache) if hash_cache is not None else None
    paths = list(_walk(landing))
    deliveries: list[Delivery] = []
    if cache is not None and landing.local:  # the files the cache knows, here: threads only add contention
        known = [(path, _describe(landing, path, cache, read=False)) for path in paths]
        deliveries = [d for _, d in known if d is not None]
        paths = [path for path, d in known if d is None]
    # hashlib releases the GIL on large buffers, so threads hash files in parallel; a chunk of paths per
    # task keeps the pool's overhead small when there are tens of thousands of small bureau files
    chunks = [paths[i : i + 64] for i in range(0, len(paths), 64)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        described = pool.map(lambda chunk: [_describe(landing, p, cache) for p in chunk], chunks)
        deliveries += [d for chunk in described for d in chunk]
    if cache is not None:
        cache.save(deliveries)
    return sorted(deliveries, key=load_order)


def export_dates(landing: Path | str | Landing) -> list[date]:
    """The export dates of the contract's CSV files in `landing`, oldest first, from their names alone
    (nothing is read or hashed; badly named files have none)."""
    try:
        landing = open_landing(landing)
    except FileNotFoundError:
        return []
    dates = {classify(_relpath(landing, path))[1] for path in _walk(landing)}
    return sorted(d for d in dates if d is not None)


def load_order(d: Delivery) -> tuple:
    return (
        TABLE_ORDER.get(d.table or "", len(TABLE_ORDER)),
        d.export_date or date.min,
        d.relpath,
        d.content_hash,
    )
