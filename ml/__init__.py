"""riskmart's ML layer: reads the feature marts, trains and registers XGBoost, writes scores back.

Entry points the CLI and the daily cycle call: `ml.train.train_model`, `ml.train.needs_training`,
`ml.score.score_date`, `ml.registry.champion_info`. Everything reads and writes through `ml.warehouse`.
"""

import os

# XGBoost's OpenMP threads spin while waiting by default; on a machine shared with dbt and the API that
# made training 10-40x slower in wall time. Set before xgboost loads libgomp; an explicit value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
