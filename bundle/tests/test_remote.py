"""Publishing to an fsspec URL (bundle.remote), on fsspec's in-memory filesystem: gs:// goes through the same
fsspec calls (gcsfs), but no test reaches Google Cloud, so GCS's own behaviour (an object write is atomic and
strongly consistent) is what the README cites, not what this proves."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pytest

from bundle import CURRENT_FILE, BundleError, BundleWriter, current_bundle, open_bundle
from bundle.remote import is_remote, remove_old_remote_bundles, sync_bundle, upload_bundle


def _bundle(staging: Path, text: str) -> Path:
    with BundleWriter(staging, "2025-06-30") as out:
        out.write_text("scores.parquet", text)
        out.write_text("seeds/score_scale.parquet", text * 2)
        return out.commit({"tables": {}, "seeds": {}})


def _url() -> str:
    return f"memory://riskmart-{uuid.uuid4().hex}/published"


def test_an_uploaded_bundle_reads_back_whole_and_current_is_swapped_last(tmp_path: Path) -> None:
    url = _url()
    fs, root = fsspec.core.url_to_fs(url)
    first = _bundle(tmp_path / "staging", "first")
    assert upload_bundle(first, url) == f"{url}/{first.name}"
    assert fs.cat_file(f"{root}/{CURRENT_FILE}") == f"{first.name}\n".encode()
    fs.get(f"{root}/{first.name}", str(tmp_path / "read" / first.name), recursive=True)
    downloaded = open_bundle(tmp_path / "read" / first.name)  # every file's size and sha256 checked
    assert downloaded.file("scores.parquet").read_text(encoding="utf-8") == "first"

    second = _bundle(tmp_path / "staging", "second")
    upload_bundle(second, url)
    assert fs.cat_file(f"{root}/{CURRENT_FILE}").decode().strip() == second.name
    # the previous bundle stays as a fallback (keep 3), whole
    assert fs.exists(f"{root}/{first.name}/manifest.json")


def test_old_bundles_beyond_keep_and_stale_partial_uploads_are_removed(tmp_path: Path) -> None:
    url = _url()
    fs, root = fsspec.core.url_to_fs(url)
    names = []
    for k in range(3):
        bundle = _bundle(tmp_path / "staging", f"day {k}")
        upload_bundle(bundle, url, keep=2)
        names.append(bundle.name)
    listed = sorted(Path(p).name for p in fs.ls(root, detail=False))
    assert listed == sorted([CURRENT_FILE, *names[1:]])
    # an upload that failed before its manifest: kept while it may be under way, removed once stale
    fs.pipe_file(f"{root}/bundle-2025-06-30-20000101T000000000000Z/scores.parquet", b"part")
    fs.pipe_file(f"{root}/bundle-2025-06-30-29990101T000000000000Z/scores.parquet", b"part")
    removed = remove_old_remote_bundles(url, keep=2)
    assert removed == [f"{url}/bundle-2025-06-30-20000101T000000000000Z"]
    assert fs.exists(f"{root}/bundle-2025-06-30-29990101T000000000000Z")


def test_an_incomplete_upload_leaves_current_unchanged(tmp_path: Path) -> None:
    url = _url()
    fs, root = fsspec.core.url_to_fs(url)
    good = _bundle(tmp_path / "staging", "good")
    upload_bundle(good, url)
    broken = _bundle(tmp_path / "staging", "broken")
    (broken / "scores.parquet").write_text("truncated after the manifest was written", encoding="utf-8")
    with pytest.raises(OSError, match="incomplete"):
        upload_bundle(broken, url)
    assert fs.cat_file(f"{root}/{CURRENT_FILE}").decode().strip() == good.name


@pytest.mark.parametrize(
    ("target", "remote"),
    [("gs://bucket/published", True), ("memory://x", True), ("file:///srv/published", False),
     ("published", False), (Path("gs://bucket"), False)],
)  # fmt: skip
def test_what_is_a_url(target, remote: bool) -> None:
    assert is_remote(target) is remote


def test_a_sync_serves_the_remote_current_bundle_locally_and_again_downloads_nothing(tmp_path: Path) -> None:
    """sync_bundle copies the bundle the remote CURRENT names into a local publish folder, checked against its
    manifest, and swaps the local CURRENT to it; a second sync finds it there; a new publish is followed,
    and bundles beyond `keep` are removed locally."""
    url, local = _url(), tmp_path / "served"
    first = _bundle(tmp_path / "staging", "first")
    upload_bundle(first, url)
    assert sync_bundle(url, local) == (first.name, True)
    served = current_bundle(local)  # verified: every file's size and sha256
    assert served is not None and served.name == first.name
    assert served.file("seeds/score_scale.parquet").read_text(encoding="utf-8") == "firstfirst"
    assert sync_bundle(url, local) == (first.name, False)

    names = []
    for text in ("second", "third"):
        upload_bundle(_bundle(tmp_path / "staging", text), url)
        name, downloaded = sync_bundle(url, local, keep=2)
        assert downloaded and current_bundle(local).file("scores.parquet").read_text(encoding="utf-8") == text
        names.append(name)
    assert sorted(p.name for p in local.iterdir()) == sorted([CURRENT_FILE, *names])  # no temporary folder

    # the remote CURRENT goes back to an older bundle whose local copy was damaged: downloaded again, checked
    (local / names[0] / "scores.parquet").write_text("damaged", encoding="utf-8")
    fs, root = fsspec.core.url_to_fs(url)
    fs.pipe_file(f"{root}/{CURRENT_FILE}", f"{names[0]}\n".encode())
    assert sync_bundle(url, local, keep=2) == (names[0], True)
    assert current_bundle(local).file("scores.parquet").read_text(encoding="utf-8") == "second"


def test_a_sync_of_a_corrupt_or_missing_bundle_leaves_the_local_current_unchanged(tmp_path: Path) -> None:
    """A remote file that does not match the manifest, or is missing, fails the sync with a BundleError
    naming the bundle; the local CURRENT still names the bundle served before, and no partial folder stays."""
    url, local = _url(), tmp_path / "served"
    fs, root = fsspec.core.url_to_fs(url)
    first = _bundle(tmp_path / "staging", "first")
    upload_bundle(first, url)
    sync_bundle(url, local)
    second = _bundle(tmp_path / "staging", "second")
    upload_bundle(second, url)
    fs.pipe_file(f"{root}/{second.name}/scores.parquet", b"tampered")
    with pytest.raises(BundleError, match=f"{second.name} downloaded from .* does not match its manifest"):
        sync_bundle(url, local)
    assert current_bundle(local).name == first.name and not (local / second.name).exists()
    fs.rm(f"{root}/{second.name}/scores.parquet")
    with pytest.raises(BundleError, match=f"{second.name} at .* is incomplete"):
        sync_bundle(url, local)
    assert current_bundle(local).name == first.name and not list(local.glob(".*"))


def test_a_sync_from_where_nothing_was_published_says_so(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="has no CURRENT: nothing was published there yet"):
        sync_bundle(_url(), tmp_path / "served")


def test_a_sync_refuses_a_remote_current_that_names_no_bundle_folder(tmp_path: Path) -> None:
    """A CURRENT object naming a path outside the bundles is refused, naming where it came from; nothing is
    written locally."""
    url = _url()
    fs, root = fsspec.core.url_to_fs(url)
    fs.pipe_file(f"{root}/{CURRENT_FILE}", b"../elsewhere\n")
    with pytest.raises(BundleError, match=f"CURRENT names '../elsewhere', which is not a folder in {url}"):
        sync_bundle(url, tmp_path / "served")
    assert not (tmp_path / "served").exists()
