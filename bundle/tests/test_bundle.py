"""The bundle's writer and reader on real files: what is written is read back, anything changed after
publishing is refused, CURRENT moves only once a bundle is whole, and old bundles go."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bundle import MANIFEST_FILE, BundleError, BundleWriter, current_bundle, open_bundle
from bundle.layout import seed_file, table_file


def _publish(publish_dir: Path, score_date: str = "2025-06-30", keep: int = 3, card: bool = True) -> Path:
    with BundleWriter(publish_dir, score_date, keep=keep) as out:
        pq.write_table(
            pa.table({"client_id": ["a", "b"], "score": [600, 700]}), out.path(table_file("scores"))
        )
        pq.write_table(pa.table({"segment": ["new"], "model_weight": [0.3]}), out.path(seed_file("weights")))
        if card:
            out.write_json("model_card.json", {"model_version": "v1", "metrics": {"auc": 0.8}})
            out.write_text("model/model.json", '{"learner": {}}')
        return out.commit(
            {
                "score_date": score_date,
                "model_version": "v1" if card else None,
                "tables": {"scores": {"file": table_file("scores"), "rows": 2}},
                "seeds": {"weights": {"file": seed_file("weights"), "rows": 1}},
            }
        )


def test_what_is_written_is_read_back(tmp_path: Path) -> None:
    assert current_bundle(tmp_path) is None
    path = _publish(tmp_path)
    bundle = current_bundle(tmp_path)
    assert bundle is not None and bundle.path == path and bundle.name.startswith("bundle-2025-06-30-")
    assert str(bundle.score_date) == "2025-06-30" and bundle.model_version == "v1" and bundle.has_model
    assert bundle.table_rows("scores") == 2 and bundle.read_table("scores")["score"].to_pylist() == [600, 700]
    assert bundle.seed_names == ["weights"] and bundle.seed("weights").num_rows == 1
    assert bundle.model_card()["metrics"] == {"auc": 0.8}
    assert bundle.model_file("model.json").read_text() == '{"learner": {}}'
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    assert set(manifest["files"]) == {
        "scores.parquet",
        "seeds/weights.parquet",
        "model_card.json",
        "model/model.json",
    }
    with pytest.raises(BundleError, match="no seed 'policy'"):
        bundle.seed("policy")
    with pytest.raises(BundleError, match="no table 'drift'"):
        bundle.table_path("drift")


def test_a_bundle_without_a_model_says_so(tmp_path: Path) -> None:
    bundle = open_bundle(_publish(tmp_path, card=False))
    assert bundle.model_card() is None and not bundle.has_model
    with pytest.raises(BundleError, match="holds no model"):
        bundle.model_file("model.json")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda p: (p / "scores.parquet").write_bytes(b"x" * (p / "scores.parquet").stat().st_size),
            "sha256",
        ),
        (lambda p: (p / "model" / "model.json").write_text("{}"), "model/model.json has 2 bytes"),
        (lambda p: (p / "seeds" / "weights.parquet").unlink(), "listed in the manifest but missing"),
        (lambda p: (p / "seeds" / "extra.parquet").write_bytes(b"x"), "does not list"),
        (lambda p: (p / MANIFEST_FILE).write_text("{"), "not readable JSON"),
        (lambda p: (p / MANIFEST_FILE).unlink(), "manifest.json is missing"),
        (
            lambda p: (p / MANIFEST_FILE).write_text(
                json.dumps(json.loads((p / MANIFEST_FILE).read_text()) | {"format_version": 99})
            ),
            "format version 99",
        ),
    ],
)
def test_a_changed_bundle_is_refused(tmp_path: Path, tamper, message: str) -> None:
    path = _publish(tmp_path)
    tamper(path)
    with pytest.raises(BundleError, match=message):
        current_bundle(tmp_path)


@pytest.mark.parametrize(
    ("current", "message"),
    [
        ("../../etc", "not a folder in"),
        ("scores-2025.parquet", "not a bundle"),
        ("bundle-gone", "no such folder"),
    ],
)
def test_current_must_name_a_bundle_of_the_folder(tmp_path: Path, current: str, message: str) -> None:
    (tmp_path / "CURRENT").write_text(current + "\n")
    with pytest.raises(BundleError, match=message):
        current_bundle(tmp_path)


def test_a_failed_publish_leaves_the_previous_bundle_current(tmp_path: Path) -> None:
    first = _publish(tmp_path)
    with pytest.raises(RuntimeError, match="crash"), BundleWriter(tmp_path, "2025-07-01") as out:
        out.write_text("scores.parquet", "half written")
        raise RuntimeError("crash before commit")
    assert current_bundle(tmp_path).path == first
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_old_bundles_and_the_layout_before_bundles_are_removed(tmp_path: Path) -> None:
    (tmp_path / "scores-2025-06-01-x.parquet").write_bytes(b"old layout")
    (tmp_path / "model_card.json").write_text("{}")
    stale = tmp_path / ".bundle-2025-05-01-x.tmp"
    stale.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    paths = []
    for _ in range(4):
        paths.append(_publish(tmp_path, keep=2))
        time.sleep(0.01)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["CURRENT", paths[-2].name, paths[-1].name])
    assert current_bundle(tmp_path).path == paths[-1]
