"""Writing a bundle: files go into a hidden temporary folder, the manifest (with every file's sha256) is
written last inside it, the folder is renamed into place, and only then is CURRENT swapped to it. A crash
at any point leaves the previous bundle current and whole."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundle.layout import BUNDLE_PREFIX, CURRENT_FILE, FORMAT_VERSION, KEEP_BUNDLES, MANIFEST_FILE

# A temporary folder this old is left over from a publish that crashed, never one still being written.
STALE_TEMP_SECONDS = 3600


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


class BundleWriter:
    """One bundle being written: `with BundleWriter(publish_dir, score_date) as out: ...; out.commit(...)`.

    `out.path("seeds/x.parquet")` gives the place to write a file (its folder created); `commit` hashes
    every file, writes the manifest, moves the folder into place and swaps CURRENT. Leaving the block
    without a commit removes the temporary folder."""

    def __init__(self, publish_dir: Path, score_date: str | None, keep: int = KEEP_BUNDLES) -> None:
        if keep < 1:
            raise ValueError("a publish keeps at least the bundle it writes")
        self.publish_dir = publish_dir
        self.keep = keep
        self.published_at = datetime.now(UTC)
        self.name = f"{BUNDLE_PREFIX}{score_date or 'none'}-{self.published_at:%Y%m%dT%H%M%S%fZ}"
        self.temp = publish_dir / f".{self.name}.tmp"
        self.final = publish_dir / self.name
        self.committed = False

    def __enter__(self) -> BundleWriter:
        self.publish_dir.mkdir(parents=True, exist_ok=True)
        self.temp.mkdir()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            shutil.rmtree(self.temp, ignore_errors=True)

    def path(self, relative: str) -> Path:
        if Path(relative).is_absolute() or ".." in Path(relative).parts:
            raise ValueError(f"{relative!r} is not a path inside the bundle")
        target = self.temp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_json(self, relative: str, payload: Any) -> Path:
        target = self.path(relative)
        target.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str), encoding="utf-8")
        return target

    def write_text(self, relative: str, text: str) -> Path:
        target = self.path(relative)
        target.write_text(text, encoding="utf-8")
        return target

    def copy(self, relative: str, source: Path) -> Path:
        target = self.path(relative)
        shutil.copyfile(source, target)
        return target

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write manifest.json (with `manifest`'s entries), move the bundle into place, swap CURRENT to it,
        and remove bundles beyond the newest `keep`. Returns the bundle's folder."""
        files = {}
        for path in sorted(p for p in self.temp.rglob("*") if p.is_file()):
            relative = path.relative_to(self.temp).as_posix()
            files[relative] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        if MANIFEST_FILE in files:
            raise ValueError(f"{MANIFEST_FILE} is written by the writer, not by its caller")
        document = {
            **manifest,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "published_at": self.published_at.isoformat(),
            "files": files,
        }
        self.write_json(MANIFEST_FILE, document)
        os.replace(self.temp, self.final)
        write_atomically(self.publish_dir / CURRENT_FILE, self.name + "\n")
        self.committed = True
        remove_old_bundles(self.publish_dir, self.keep)
        return self.final


def remove_old_bundles(publish_dir: Path, keep: int = KEEP_BUNDLES) -> list[Path]:
    """Remove all but the newest `keep` bundles (never the one CURRENT names), temporary folders of publishes
    that crashed, and the files of the layout before bundles (`scores-*.parquet`, a loose model_card.json).
    Readers load a bundle into memory, so older bundles are only a short fallback."""
    pointer = publish_dir / CURRENT_FILE
    current = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else None
    bundles = sorted(
        (p for p in publish_dir.glob(f"{BUNDLE_PREFIX}*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    kept = [p for p in bundles if p.name == current]
    removed = []
    for path in bundles:
        if path.name == current:
            continue
        if len(kept) < keep:
            kept.append(path)
        else:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    now = time.time()
    for temp in publish_dir.glob(f".{BUNDLE_PREFIX}*.tmp"):
        if now - temp.stat().st_mtime > STALE_TEMP_SECONDS:
            shutil.rmtree(temp, ignore_errors=True)
            removed.append(temp)
    if current is not None and current.startswith(BUNDLE_PREFIX):
        for legacy in [*publish_dir.glob("scores-*.parquet"), publish_dir / "model_card.json"]:
            if legacy.is_file():
                legacy.unlink(missing_ok=True)
                removed.append(legacy)
    return removed
