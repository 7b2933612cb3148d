"""The model registry: versioned artifact folders (XGBoost JSON and plain JSON, never pickle) and the
`ml.ml_model_registry` table that says which version is champion."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ml.warehouse import TableSpec, TableWrite, Warehouse
from scoring.model import ModelFileError, ScoringModel, load_model_files

CHAMPION, CHALLENGER, RETIRED = "champion", "challenger", "retired"
MODEL_FILE = "model.json"
CALIBRATOR_FILE = "calibrator.json"
FEATURES_FILE = "features.json"
TRAINING_FILE = "training.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "model_card.md"
ARTIFACT_FILES = (MODEL_FILE, CALIBRATOR_FILE, FEATURES_FILE, TRAINING_FILE, METRICS_FILE, CARD_FILE)
METRIC_NAMES = ("auc", "gini", "ks", "pr_auc", "brier", "ece", "calibration_slope", "calibration_intercept")

REGISTRY = TableSpec(
    name="ml.ml_model_registry",
    columns=(
        ("model_version", "string"),
        ("trained_at", "timestamp"),
        ("as_of_date", "date"),
        ("status", "string"),
        ("status_changed_at", "timestamp"),
        ("train_start", "date"),
        ("train_end", "date"),
        ("valid_start", "date"),
        ("valid_end", "date"),
        ("test_start", "date"),
        ("test_end", "date"),
        ("n_train", "int"),
        ("n_valid", "int"),
        ("n_test", "int"),
        ("n_features", "int"),
        ("best_iteration", "int"),
        ("calibration", "string"),
        *((f"test_{m}", "float") for m in METRIC_NAMES),
        *((f"baseline_{m}", "float") for m in METRIC_NAMES),
        ("truth_auc", "float"),
        ("truth_model_auc", "float"),
        ("truth_auc_ratio", "float"),
        ("truth_n_rows", "int"),
        ("compared_with", "string"),
        ("champion_test_auc", "float"),
        ("promotion_reason", "string"),
        ("features_sha256", "string"),
        ("model_sha256", "string"),
        ("artifact_dir", "string"),
        ("metrics_json", "string"),
    ),
    replace_key=("model_version",),
)


class RegistryError(RuntimeError):
    """The registry table or an artifact folder is not as it must be."""


class ModelIntegrityError(RegistryError):
    """A model's files disagree with each other or with the registry: refused, never used."""


@dataclass
class RegisteredModel(ScoringModel):
    """A champion or challenger loaded from its artifact folder and checked (what scoring applies, plus
    its training record and metrics)."""

    training: dict
    metrics: dict


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def new_version(registry_path: Path, trained_at: datetime, model_sha256: str) -> str:
    """A sortable, unique version: UTC training time, then the model's own fingerprint."""
    base = f"{trained_at:%Y%m%dT%H%M%SZ}-{model_sha256[:8]}"
    version, n = base, 1
    while (registry_path / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def write_artifacts(registry_path: Path, version: str, files: dict[str, bytes | str | dict]) -> Path:
    """Write one version's folder atomically: a crash leaves the whole folder or none of it."""
    missing = [name for name in ARTIFACT_FILES if name not in files]
    if missing:
        raise RegistryError(f"artifacts of {version} lack {missing}")
    registry_path.mkdir(parents=True, exist_ok=True)
    final = registry_path / version
    if final.exists():
        raise RegistryError(f"artifact folder {final} already exists; versions are never overwritten")
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=registry_path))
    try:
        for name, content in files.items():
            if isinstance(content, dict):
                content = json.dumps(plain_json(content), indent=1, sort_keys=True, allow_nan=False)
            data = content.encode() if isinstance(content, str) else content
            (staging / name).write_bytes(data)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def plain_json(value):
    """JSON-safe copy: numpy scalars to Python, NaN to null, dates to ISO text."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def load_model(
    registry_path: Path, version: str, registry_row: dict | None = None, *, threads: int = 0
) -> RegisteredModel:
    """Load a version's artifacts, refusing any whose model, feature list and registry row disagree.
    `threads` > 0 caps XGBoost's threads for prediction (0 = all cores)."""
    folder = Path(registry_path) / version
    absent = [name for name in (MODEL_FILE, CALIBRATOR_FILE, FEATURES_FILE) if not (folder / name).is_file()]
    if absent:
        raise RegistryError(f"model {version}: {folder} lacks {', '.join(absent)}")
    model_bytes = (folder / MODEL_FILE).read_bytes()
    try:
        applied = load_model_files(
            version,
            model_bytes,
            json.loads((folder / FEATURES_FILE).read_text()),
            json.loads((folder / CALIBRATOR_FILE).read_text()),
            threads=threads,
        )
    except ValueError as exc:  # ModelFileError, or a file that is not JSON
        message = (
            str(exc) if isinstance(exc, ModelFileError) else f"unreadable feature list or calibrator: {exc}"
        )
        raise ModelIntegrityError(
            message if isinstance(exc, ModelFileError) else f"model {version}: {message}"
        ) from exc
    if registry_row is not None:
        if registry_row.get("features_sha256") != applied.features.sha256():
            raise ModelIntegrityError(
                f"model {version}: {FEATURES_FILE} differs from the registered feature list"
            )
        if registry_row.get("model_sha256") != sha256_bytes(model_bytes):
            raise ModelIntegrityError(f"model {version}: {MODEL_FILE} differs from the registered model file")
    training = _read_json(folder / TRAINING_FILE)
    metrics = _read_json(folder / METRICS_FILE)
    return RegisteredModel(
        applied.version, applied.booster, applied.calibrator, applied.features, training, metrics
    )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def read_registry(warehouse: Warehouse) -> pd.DataFrame:
    """Every registered version, newest first (empty when nothing was ever trained)."""
    if warehouse.table_columns(REGISTRY.name) is None:
        return pd.DataFrame(columns=REGISTRY.column_names)
    return warehouse.read(f"select * from {REGISTRY.name} order by trained_at desc, model_version desc")  # noqa: S608


def champion_row(warehouse: Warehouse) -> dict | None:
    registry = read_registry(warehouse)
    champions = registry[registry["status"] == CHAMPION]
    if len(champions) > 1:
        raise RegistryError(
            f"{REGISTRY.name} has {len(champions)} champions ({', '.join(champions['model_version'])});"
            " set all but one to 'retired'"
        )
    return None if champions.empty else _row_dict(champions.iloc[0])


def _row_dict(row: pd.Series) -> dict:
    return {k: (None if _is_missing(v) else v) for k, v in row.to_dict().items()}


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def registry_write(warehouse: Warehouse, row: dict, *, promote: bool, now: datetime) -> TableWrite:
    """The write that adds a version: champion when promoted (the old champion retires), else the one
    challenger; older challengers retire either way, so at most one champion and one challenger are current.
    `Warehouse.replace_rows` it together with the version's other rows: one transaction registers it whole."""
    registry = read_registry(warehouse)
    changed = []
    for _, old in registry.iterrows():
        if old["status"] == CHALLENGER or (promote and old["status"] == CHAMPION):
            changed.append(_row_dict(old) | {"status": RETIRED, "status_changed_at": now})
    new = dict(row) | {"status": CHAMPION if promote else CHALLENGER, "status_changed_at": now}
    return TableWrite(REGISTRY, pd.DataFrame([new, *changed], columns=REGISTRY.column_names))


def trained_as_of(warehouse: Warehouse, as_of: date) -> list[str]:
    """The versions registered with data as of `as_of` (what a re-run of that day trained already)."""
    registry = read_registry(warehouse)
    dates = pd.to_datetime(registry["as_of_date"]).dt.date
    return list(registry.loc[dates == as_of, "model_version"])


def champion_info(settings) -> dict | None:
    """The current champion's version, training time, as-of date and test metrics; None before the first
    model. What the daily cycle prints and publishes."""
    from ml.warehouse import open_warehouse

    row = champion_row(open_warehouse(settings))
    if row is None:
        return None
    return {
        "model_version": row["model_version"],
        "trained_at": pd.Timestamp(row["trained_at"]).to_pydatetime(),
        "as_of_date": pd.Timestamp(row["as_of_date"]).date(),
        "status": row["status"],
        "test_window": [pd.Timestamp(row["test_start"]).date(), pd.Timestamp(row["test_end"]).date()],
        "metrics": {m: row[f"test_{m}"] for m in METRIC_NAMES},
        "baseline_metrics": {m: row[f"baseline_{m}"] for m in METRIC_NAMES},
        "truth_auc": row["truth_auc"],
        "truth_auc_ratio": row["truth_auc_ratio"],
        "artifact_dir": row["artifact_dir"],
    }
