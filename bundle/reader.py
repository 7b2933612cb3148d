"""Reading a bundle: find the current one, check it against its manifest, and hand out its parts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bundle.layout import (
    BUNDLE_PREFIX,
    CURRENT_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    MODEL_DIR,
    SCORES_TABLE,
    seed_file,
    table_file,
)
from bundle.writer import file_sha256


class BundleError(Exception):
    """A published bundle that cannot be used as it is; the message names the bundle and what is wrong."""


def current_bundle_name(publish_dir: Path) -> str | None:
    """The bundle folder CURRENT names; None when nothing was published. Raises BundleError when CURRENT
    names something that is not a bundle folder of `publish_dir`."""
    pointer = publish_dir / CURRENT_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not name:
        return None
    check_bundle_name(name, publish_dir)
    return name


def check_bundle_name(name: str, publish_dir: Path | str) -> None:
    """Raise BundleError unless `name` (as CURRENT holds it) names a bundle folder directly in publish_dir (a
    folder, or the URL a bundle is synced from)."""
    if Path(name).name != name or name in {".", ".."}:
        raise BundleError(f"CURRENT names {name!r}, which is not a folder in {publish_dir}")
    if not name.startswith(BUNDLE_PREFIX):
        raise BundleError(
            f"CURRENT names {name!r}, which is not a bundle ({BUNDLE_PREFIX}*): published by an older"
            " riskmart? Publish again (`riskmart run`) to write a bundle"
        )


def current_bundle(publish_dir: Path, *, verify: bool = True) -> Bundle | None:
    """The bundle CURRENT names, checked against its manifest; None when nothing was published yet."""
    name = current_bundle_name(publish_dir)
    return None if name is None else open_bundle(publish_dir / name, verify=verify)


def open_bundle(path: Path, *, verify: bool = True) -> Bundle:
    """Open a bundle folder; with `verify`, every file's size and sha256 are checked against the manifest
    and a file the manifest does not list is refused."""
    if not path.is_dir():
        raise BundleError(f"bundle {path.name}: no such folder in {path.parent}")
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"bundle {path.name}: {MANIFEST_FILE} is missing") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"bundle {path.name}: {MANIFEST_FILE} is not readable JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BundleError(f"bundle {path.name}: {MANIFEST_FILE} is not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"bundle {path.name}: format version {version!r}, this reader reads version {FORMAT_VERSION}"
        )
    for key, kind in (("files", dict), ("tables", dict), ("seeds", dict)):
        if not isinstance(manifest.get(key), kind):
            raise BundleError(f"bundle {path.name}: {MANIFEST_FILE} lacks its {key!r} object")
    bundle = Bundle(path, manifest)
    if verify:
        bundle.verify()
    return bundle


@dataclass(frozen=True)
class Bundle:
    """One published bundle (see bundle.layout). Accessors raise BundleError for a part it lacks."""

    path: Path
    manifest: dict[str, Any]

    # what it is

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def published_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["published_at"])

    @property
    def score_date(self) -> date | None:
        value = self.manifest.get("score_date")
        return None if value is None else date.fromisoformat(value)

    @property
    def model_version(self) -> str | None:
        return self.manifest.get("model_version")

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.manifest["files"]

    def verify(self) -> None:
        """Every listed file is there with its size and sha256; nothing unlisted is there."""
        for relative, entry in self.files.items():
            target = self.path / relative
            if Path(relative).is_absolute() or ".." in Path(relative).parts:
                raise BundleError(f"bundle {self.name}: the manifest lists {relative!r}, outside the bundle")
            if not target.is_file():
                raise BundleError(f"bundle {self.name}: {relative} is listed in the manifest but missing")
            if target.stat().st_size != entry.get("bytes"):
                raise BundleError(
                    f"bundle {self.name}: {relative} has {target.stat().st_size} bytes, the manifest says"
                    f" {entry.get('bytes')}: the bundle was changed or truncated after publishing"
                )
            if file_sha256(target) != entry.get("sha256"):
                raise BundleError(
                    f"bundle {self.name}: {relative} fails its sha256 check: the bundle was changed after"
                    " publishing"
                )
        listed = set(self.files) | {MANIFEST_FILE}
        extra = sorted(
            p.relative_to(self.path).as_posix()
            for p in self.path.rglob("*")
            if p.is_file() and p.relative_to(self.path).as_posix() not in listed
        )
        if extra:
            raise BundleError(f"bundle {self.name}: files the manifest does not list: {extra[:5]}")

    def file(self, relative: str) -> Path:
        """The path of a file the manifest lists."""
        if relative not in self.files:
            raise BundleError(f"bundle {self.name} has no {relative}")
        return self.path / relative

    def has_file(self, relative: str) -> bool:
        return relative in self.files

    # published marts

    @property
    def table_names(self) -> list[str]:
        return sorted(self.manifest["tables"])

    def table_rows(self, name: str) -> int:
        if name not in self.manifest["tables"]:
            raise BundleError(f"bundle {self.name} has no table {name!r} (it has {self.table_names})")
        return int(self.manifest["tables"][name]["rows"])

    def table_path(self, name: str) -> Path:
        self.table_rows(name)
        return self.file(table_file(name))

    @property
    def scores_path(self) -> Path:
        """The scored mart, marts.fct_client_scores, as parquet."""
        return self.table_path(SCORES_TABLE)

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        return _read_parquet(self, self.table_path(name), columns)

    # the model

    def model_card(self) -> dict[str, Any] | None:
        """The champion's card; None when the rules score alone."""
        if not self.has_file(MODEL_CARD_FILE):
            return None
        try:
            card = json.loads(self.file(MODEL_CARD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"bundle {self.name}: {MODEL_CARD_FILE} is not readable JSON: {exc}") from exc
        if not isinstance(card, dict) or not isinstance(card.get("model_version"), str):
            raise BundleError(
                f"bundle {self.name}: {MODEL_CARD_FILE} is not a JSON object with a model_version"
            )
        if card["model_version"] != self.model_version:
            raise BundleError(
                f"bundle {self.name}: {MODEL_CARD_FILE} is of model {card['model_version']}, the manifest"
                f" says {self.model_version}"
            )
        return card

    @property
    def has_model(self) -> bool:
        return self.model_version is not None

    def model_file(self, name: str) -> Path:
        """A file of the champion's folder (as in the model registry: model.json, calibrator.json, ...)."""
        if not self.has_model:
            raise BundleError(f"bundle {self.name} holds no model: the rules score alone")
        return self.file(f"{MODEL_DIR}/{name}")

    def model_json(self, name: str) -> Any:
        try:
            return json.loads(self.model_file(name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"bundle {self.name}: {MODEL_DIR}/{name} is not readable JSON: {exc}") from exc

    # seeds

    @property
    def seed_names(self) -> list[str]:
        return sorted(self.manifest["seeds"])

    def seed(self, name: str) -> pa.Table:
        """A dbt seed as the warehouse built it (typed as dbt typed it)."""
        if name not in self.manifest["seeds"]:
            raise BundleError(f"bundle {self.name} has no seed {name!r} (it has {self.seed_names})")
        return _read_parquet(self, self.file(seed_file(name)), None)


def _read_parquet(bundle: Bundle, path: Path, columns: list[str] | None) -> pa.Table:
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise BundleError(f"bundle {bundle.name}: {path.name} is not readable parquet: {exc}") from exc
