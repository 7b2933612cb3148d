"""The snapshot loader refuses snapshots that break the scored mart's layout (real parquet files)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from api.repository import (
    NoScoreOnDate,
    PublishedSnapshotRepository,
    SnapshotError,
    SnapshotUnavailable,
    UnknownClient,
    load_snapshot,
)
from api.tests.snapshots import build_published_snapshot, synthetic_scores


def _write(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "scores-test.parquet"
    pq.write_table(table, path)
    return path


def _replace(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return synthetic_scores(12, 4)


def test_a_good_snapshot_loads_in_any_row_order(tmp_path: Path, table: pa.Table) -> None:
    shuffled = table.take(pa.array(list(range(table.num_rows))[::-1]))
    snapshot = load_snapshot(_write(tmp_path, shuffled))
    assert snapshot.rows == table.num_rows and len(snapshot.client_ids) == 12
    assert snapshot.client_ids == sorted(snapshot.client_ids)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(["score"]), "lacks the columns ['score']"),
        (lambda t: _replace(t, "risk_level", pa.array(["SEVERE"] * t.num_rows)), "values ['SEVERE']"),
        (lambda t: _replace(t, "scored_by", pa.array([None] * t.num_rows, pa.string())), "empty values"),
        (lambda t: _replace(t, "probability_of_default", pa.array([1.5] * t.num_rows)), "outside [0, 1]"),
        (lambda t: _replace(t, "probability_of_default", pa.array([float("nan")] * t.num_rows)), "NaN"),
        (lambda t: _replace(t, "score", pa.array(["high"] * t.num_rows)), "column score is not int64"),
        (
            lambda t: _replace(t, "score", pc.add(t["score"].cast(pa.float64()), 0.5)),
            "column score is not int64",
        ),
        (lambda t: pa.concat_tables([t, t.slice(0, 1)]), "has two scores on"),
        (lambda t: t.slice(0, 0), "holds no scores"),
    ],
)
def test_broken_snapshots_are_refused(tmp_path: Path, table: pa.Table, change, message: str) -> None:
    with pytest.raises(SnapshotError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_snapshot(_write(tmp_path, change(table)))


def test_not_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scores-x.parquet"
    path.write_text("client_id,score\n1,600\n")
    with pytest.raises(SnapshotError, match="not a readable parquet file"):
        load_snapshot(path)


def test_nothing_published_is_unavailable_until_current_appears(tmp_path: Path, table: pa.Table) -> None:
    publish_dir = tmp_path / "published"
    repository = PublishedSnapshotRepository(publish_dir)
    with pytest.raises(SnapshotUnavailable):
        repository.score("CLI-000", None)
    # a folder published before bundles: CURRENT names a parquet file, which is refused with what to do
    publish_dir.mkdir()
    _write(publish_dir, table)
    (publish_dir / "CURRENT").write_text("scores-test.parquet\n")
    assert repository.refresh() is False
    assert "not a bundle" in repository.last_error and "Publish again" in repository.last_error
    build_published_snapshot(publish_dir, table, None, tmp_path)
    assert repository.refresh() is True
    assert repository.refresh() is False  # CURRENT unchanged: nothing to do
    assert repository.score("CLI-000", None)["client_id"] == "CLI-000"
    with pytest.raises(UnknownClient):
        repository.score("nobody", None)
    with pytest.raises(NoScoreOnDate):
        repository.score("CLI-000", date(2000, 1, 1))
    with pytest.raises(NoScoreOnDate):
        repository.page(date(2000, 1, 1), None, None, None, 10)
