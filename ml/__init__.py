"""riskmart's ML layer: reads the feature marts, trains and registers XGBoost, writes scores back.

Entry points the CLI and the daily cycle call: `ml.train.train_model`, `ml.train.needs_training`,
`ml.score.score_date`, `ml.registry.champion_info`. Everything reads and writes through `ml.warehouse`.
"""
