"""The one settings object: every path and knob, read from RISKMART_* environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from api.settings import ApiSettings

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(ApiSettings):
    """Configuration of a riskmart installation. CLI options override these per call. The API's settings
    (publish folder, keys, audit log) are `api.settings.ApiSettings`, which this extends: the service reads
    only those."""

    model_config = SettingsConfigDict(env_prefix="RISKMART_", env_file=None, extra="ignore")

    warehouse: Path = Field(Path("warehouse/riskmart.duckdb"), description="DuckDB warehouse file.")
    landing: Path = Field(Path("data/landing"), description="Landing folder of the daily export.")
    truth: Path | None = Field(
        None,
        description="Ground truth of a demo export (client_month_pd.csv or its folder): training compares"
        " the model with it only when this is set; `demo-data` writes it here (default truth/ beside landing).",
    )
    registry_dir: Path | None = Field(
        None, description="Model artifacts; default models/ beside the warehouse."
    )
    dbt_target: str = Field("dev", description="dbt target in profiles/profiles.yml (dev, ci, prod).")
    dbt_project_dir: Path = Field(PROJECT_DIR, description="Folder holding dbt_project.yml.")
    pii_salt: SecretStr = Field(
        SecretStr("riskmart-dev-salt"), description="Salt of the PII hashes; set a secret one in production."
    )
    retrain_interval_days: int = Field(30, ge=1, description="Retrain when the champion is older than this.")
    promotion_margin: float = Field(0.002, ge=0, description="AUC a challenger must gain to become champion.")
    ml_test_share: float = Field(
        0.2, gt=0, lt=0.5, description="Share of matured rows (latest dates) for testing."
    )
    ml_valid_share: float = Field(
        0.2, gt=0, lt=0.5, description="Share of rows (dates before test) for early stop."
    )
    ml_calibration: Literal["platt", "isotonic"] = Field(
        "platt", description="Probability calibration method."
    )
    contributions_keep_days: int = Field(
        35,
        ge=1,
        description="Score dates (newest first) that keep every feature's contribution (ml.ml_scores,"
        " ~1.9 KB a row); older rows keep only their top reasons (ml.ml_score_reasons). 35: a month of"
        " disputes plus a margin.",
    )
    maintain_after_run: bool = Field(
        True,
        description="`riskmart run` ends with `riskmart maintain` (retention, CHECKPOINT); false: run it"
        " yourself, e.g. weekly.",
    )
    # One thread: at riskmart's sizes XGBoost's many short parallel steps cost more in waiting than they
    # save when other work shares the cores (a fit at 20,000 x 24: 3 s of CPU on one thread, 7-26 s on two).
    ml_threads: int = Field(1, ge=0, description="XGBoost threads for training and scoring; 0 = all cores.")

    @cached_property
    def truth_dir(self) -> Path:
        """Where `riskmart demo-data` writes the ground truth (training reads only `truth`, when set)."""
        return self.truth if self.truth is not None else self.landing.parent / "truth"

    @cached_property
    def registry_path(self) -> Path:
        return self.registry_dir if self.registry_dir is not None else self.warehouse.parent / "models"

    def dbt_env(self) -> dict[str, str]:
        """The environment dbt's profile reads, so one setting moves the whole project."""
        return {
            "RISKMART_WAREHOUSE": str(self.warehouse.resolve()),
            "RISKMART_DBT_TARGET": self.dbt_target,
            "RISKMART_PII_SALT": self.pii_salt.get_secret_value(),
        }


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI options (those not None) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
