"""Publish the scored mart for readers that must never hold the warehouse file (architecture.md).

Layout (docs/internals.md): `scores-<score_date>-<UTC ts>.parquet`, `model_card.json`, and `CURRENT`
naming the current parquet. Every file is written under a temporary name and moved into place with
os.replace, and CURRENT last, so a reader sees the old snapshot or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ml.warehouse import connect_warehouse

SCORED_MART = "marts.fct_client_scores"
CURRENT_FILE = "CURRENT"
MODEL_CARD_FILE = "model_card.json"
KEEP_SNAPSHOTS = 3


@dataclass(frozen=True)
class PublishResult:
    path: Path
    rows: int
    score_dates: int
    latest_score_date: str | None


def _write_atomically(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def current_snapshot(publish_dir: Path) -> Path | None:
    """The parquet file CURRENT names, or None when nothing was published yet."""
    pointer = publish_dir / CURRENT_FILE
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return publish_dir / name if name else None


def publish_scored_snapshot(warehouse: Path, publish_dir: Path, model_card: dict | None) -> PublishResult:
    """Copy the scored mart to a new parquet file, then swap CURRENT to it."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    # Opened as dbt opens it (attached as `riskmart`); dbt releases the file after each of its commands.
    with connect_warehouse(warehouse) as con:
        rows, dates, latest = con.execute(
            f"select count(*), count(distinct score_date), max(score_date) from {SCORED_MART}"  # noqa: S608
        ).fetchone()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"scores-{latest or 'none'}-{stamp}.parquet"
        tmp = publish_dir / f".{name}.tmp"
        con.execute(
            f"copy (select * from {SCORED_MART} order by score_date, client_id) "  # noqa: S608
            "to ? (format parquet, compression zstd)",
            [str(tmp)],
        )
    final = publish_dir / name
    os.replace(tmp, final)
    card_path = publish_dir / MODEL_CARD_FILE
    if model_card is not None:
        _write_atomically(card_path, json.dumps(model_card, indent=1, default=str))
    elif card_path.exists():
        card_path.unlink()
    _write_atomically(publish_dir / CURRENT_FILE, name + "\n")
    _remove_old_snapshots(publish_dir, keep=final)
    return PublishResult(final, int(rows), int(dates), str(latest) if latest else None)


def _remove_old_snapshots(publish_dir: Path, keep: Path) -> None:
    # Readers load a snapshot fully into memory, so older files are only kept as a short fallback.
    snapshots = sorted(publish_dir.glob("scores-*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in snapshots if p != keep][KEEP_SNAPSHOTS - 1 :]:
        old.unlink(missing_ok=True)
