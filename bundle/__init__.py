"""The published bundle: everything the score API (and the dashboard) needs, in one self-contained folder.

The pipeline writes a bundle per publish (`riskmart.publish`, with `BundleWriter`); readers find the current
one with `current_bundle(publish_dir)`. The layout is `bundle.layout`; this package imports nothing of
riskmart's own (not `riskmart`, `ml` or `api`), so every reader can depend on it.
"""

from bundle.layout import (
    CURRENT_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    MODEL_DIR,
    SCORES_TABLE,
    SEEDS_DIR,
)
from bundle.reader import (
    Bundle,
    BundleError,
    check_bundle_name,
    current_bundle,
    current_bundle_name,
    open_bundle,
)
from bundle.writer import BundleWriter, remove_old_bundles

__all__ = [
    "CURRENT_FILE",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "MODEL_CARD_FILE",
    "MODEL_DIR",
    "SCORES_TABLE",
    "SEEDS_DIR",
    "Bundle",
    "BundleError",
    "BundleWriter",
    "check_bundle_name",
    "current_bundle",
    "current_bundle_name",
    "open_bundle",
    "remove_old_bundles",
]
