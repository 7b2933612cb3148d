"""Where the dashboard finds the published snapshot: RISKMART_PUBLISH_DIR, else published/ beside the
warehouse named by RISKMART_WAREHOUSE (the same default as riskmart's settings, which it may not import)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WAREHOUSE = Path("warehouse/riskmart.duckdb")


def publish_dir() -> Path:
    explicit = os.environ.get("RISKMART_PUBLISH_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("RISKMART_WAREHOUSE", str(DEFAULT_WAREHOUSE))).parent / "published"
