"""Publishing a bundle to an object store (`gs://bucket/prefix`) or any other fsspec URL, in the layout of a
local publish folder (bundle.layout).

An object store renames nothing atomically (a folder "move" is a copy of every object), so the swap works on
the one thing it does write atomically, a single object: the bundle is written locally first (BundleWriter,
manifest with every file's sha256), its files are uploaded under the bundle's final name with the manifest
last, the upload is checked against the manifest (every file there with its size), and only then is the
CURRENT object replaced by one write. A reader that follows CURRENT sees the old bundle or the new one, never
part of one: until CURRENT names it, no reader looks at the new folder; on GCS an object write is atomic
and strongly consistent, so a reader reads the new CURRENT whole or the old one. A publish that fails leaves
CURRENT as it was (a partial folder may remain; the next publish removes it with the old bundles).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from bundle.layout import BUNDLE_PREFIX, CURRENT_FILE, KEEP_BUNDLES, MANIFEST_FILE
from bundle.writer import STALE_TEMP_SECONDS, remove_old_bundles, write_atomically


def is_remote(target: Path | str) -> bool:
    """True for a URL with a scheme (`gs://...`, `memory://...`); a plain path (or file://) is a folder."""
    return isinstance(target, str) and "://" in target and not target.startswith("file://")


def local_folder(target: Path | str) -> Path:
    """The folder a non-remote target names (a path, or a file:// URL)."""
    text = str(target)
    return Path(text[len("file://") :]) if text.startswith("file://") else Path(target)


def upload_bundle(folder: Path, url: str, keep: int = KEEP_BUNDLES) -> str:
    """Upload the committed bundle `folder` under `url`, swap the CURRENT object to it, remove bundles
    beyond the newest `keep`; returns the bundle's URL. Needs fsspec and, for gs://, gcsfs
    (`pip install 'riskmart[bigquery]'`)."""
    import fsspec

    if keep < 1:
        raise ValueError("a publish keeps at least the bundle it writes")
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    name = folder.name
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    target = f"{root}/{name}"
    for relative in sorted(manifest["files"]):  # the manifest is uploaded last
        fs.put_file(str(folder / relative), f"{target}/{relative}")
    fs.put_file(str(folder / MANIFEST_FILE), f"{target}/{MANIFEST_FILE}")
    uploaded = {
        path[len(target) + 1 :]: int(info["size"])
        for path, info in fs.find(target, detail=True).items()
        if info.get("type", "file") == "file"
    }
    expected = {relative: int(entry["bytes"]) for relative, entry in manifest["files"].items()}
    expected[MANIFEST_FILE] = (folder / MANIFEST_FILE).stat().st_size
    wrong = sorted(r for r in expected if uploaded.get(r) != expected[r])
    if wrong:
        raise OSError(
            f"the upload of bundle {name} to {url} is incomplete: {wrong[:5]} missing or of another size than"
            " its manifest says; CURRENT is unchanged, publish again"
        )
    fs.pipe_file(f"{root}/{CURRENT_FILE}", f"{name}\n".encode())
    remove_old_remote_bundles(url, keep)
    return f"{url.rstrip('/')}/{name}"


def _published_at(name: str) -> datetime:
    """The UTC time a bundle's name ends with (BundleWriter: bundle-<score date>-<%Y%m%dT%H%M%S%fZ>)."""
    try:
        return datetime.strptime(name.rsplit("-", 1)[-1], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def remove_old_remote_bundles(url: str, keep: int = KEEP_BUNDLES) -> list[str]:
    """Remove all but the newest `keep` bundles under `url` (by the time in their names), never the one
    CURRENT names, and folders without a manifest (an upload that failed) once they are an hour old."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    current = fs.cat_file(f"{root}/{CURRENT_FILE}").decode("utf-8").strip()
    names = sorted(
        (Path(p).name for p in fs.ls(root, detail=False) if Path(p).name.startswith(BUNDLE_PREFIX)),
        key=_published_at,
        reverse=True,
    )
    kept = [current]
    removed = []
    now = datetime.now(UTC)
    for name in names:
        if name in kept:
            continue
        if fs.exists(f"{root}/{name}/{MANIFEST_FILE}"):
            if len(kept) < keep:
                kept.append(name)
                continue
        elif (now - _published_at(name)).total_seconds() < STALE_TEMP_SECONDS:
            continue  # perhaps an upload under way
        fs.rm(f"{root}/{name}", recursive=True)
        removed.append(f"{url.rstrip('/')}/{name}")
    return removed


def sync_bundle(url: str, publish_dir: Path, keep: int = KEEP_BUNDLES) -> tuple[str, bool]:
    """Make the local publish folder serve the bundle the CURRENT object under `url` names (what the API and
    the dashboard read when the bundles are published to an object store): nothing when the local CURRENT
    names it already; else download it (unless a copy here checks against its manifest), check every file's
    size and sha256, move the folder into place, and only then swap the local CURRENT; bundles beyond the
    newest `keep` are removed. Returns (the
    bundle's name, whether it was downloaded). A sync that fails leaves the local CURRENT as it was."""
    import fsspec

    from bundle.reader import BundleError, check_bundle_name, current_bundle_name, open_bundle

    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    try:
        name = fs.cat_file(f"{root}/{CURRENT_FILE}").decode("utf-8").strip()
    except FileNotFoundError:
        name = ""
    if not name:
        raise BundleError(
            f"{url} has no {CURRENT_FILE}: nothing was published there yet; publish first"
            f" (`riskmart run` or `riskmart publish` with RISKMART_PUBLISH_URL={url})"
        )
    check_bundle_name(name, url)
    publish_dir.mkdir(parents=True, exist_ok=True)
    final = publish_dir / name
    if final.is_dir() and current_bundle_name(publish_dir) == name:
        return name, False  # served already: a bundle never changes once CURRENT names it (readers verify it)
    if final.is_dir():
        try:
            open_bundle(final, verify=True)
        except BundleError:
            shutil.rmtree(final)  # a damaged copy nobody serves: downloaded again below
    downloaded = not final.is_dir()
    if downloaded:
        temp = publish_dir / f".{name}.{os.getpid()}.tmp"  # another sync of the same bundle has its own
        try:
            remote = f"{root}/{name}"
            manifest = fs.cat_file(f"{remote}/{MANIFEST_FILE}")
            files = json.loads(manifest).get("files")
            if not isinstance(files, dict):
                raise BundleError(f"bundle {name} at {url}: {MANIFEST_FILE} lacks its 'files' object")
            for relative in sorted(files):
                target = temp / relative
                if Path(relative).is_absolute() or ".." in Path(relative).parts:
                    raise BundleError(f"bundle {name} at {url}: {relative!r} is not a path inside the bundle")
                target.parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(f"{remote}/{relative}", str(target))
            (temp / MANIFEST_FILE).write_bytes(manifest)
            try:
                open_bundle(temp, verify=True)
            except BundleError as exc:
                raise BundleError(
                    f"bundle {name} downloaded from {url} does not match its manifest ({exc}); the local"
                    f" {CURRENT_FILE} is unchanged"
                ) from None
            if not final.is_dir():  # else another sync moved the same bundle into place first
                os.replace(temp, final)
        except FileNotFoundError as exc:
            raise BundleError(
                f"bundle {name} at {url} is incomplete ({exc.filename or exc}); the local {CURRENT_FILE} is"
                " unchanged"
            ) from None
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    write_atomically(publish_dir / CURRENT_FILE, name + "\n")
    remove_old_bundles(publish_dir, keep)
    return name, downloaded
