"""The bundle's layout: one folder per publish under the publish folder, and CURRENT naming the live one.

    <publish_dir>/
      CURRENT                              the name of the current bundle folder (swapped last, atomically)
      bundle-<score_date>-<UTC ts>/
        manifest.json                      format version, score date, model version, tables and row
                                           counts, every other file with its size and sha256
        scores.parquet                     the scored mart (marts.fct_client_scores); other published
                                           marts beside it as <name>.parquet
        model_card.json                    the champion's card (absent when the rules score alone)
        model/                             the champion's files (XGBoost JSON, calibrator, feature list)
        seeds/<name>.parquet               the dbt seeds as the warehouse built them
        applicant/no_history_features.parquet   the feature row of a client with no history (dbt's
                                           intermediate.int_no_history_features)
        applicant/scoring_query.parquet    the scoring marts' macros rendered for an applicant (dbt's
                                           marts.applicant_scoring_query): what applicant scoring runs

A bundle is never changed once CURRENT names it; a reader that verified it may keep using its files.
"""

from __future__ import annotations

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
BUNDLE_PREFIX = "bundle-"
SCORES_TABLE = "scores"
MODEL_CARD_FILE = "model_card.json"
MODEL_DIR = "model"
SEEDS_DIR = "seeds"
APPLICANT_DIR = "applicant"
# Tables applicant scoring reads (published like the marts, under APPLICANT_DIR).
NO_HISTORY_FEATURES_TABLE = f"{APPLICANT_DIR}/no_history_features"
SCORING_QUERY_TABLE = f"{APPLICANT_DIR}/scoring_query"
# How many bundles a publish keeps (the current one included): older ones are a short fallback only.
KEEP_BUNDLES = 3


def table_file(name: str) -> str:
    return f"{name}.parquet"


def seed_file(name: str) -> str:
    return f"{SEEDS_DIR}/{name}.parquet"
