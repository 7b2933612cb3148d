"""The one settings object: every path and knob, read from RISKMART_* environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from api.settings import ApiSettings

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROFILE_NAME = "riskmart"
Engine = Literal["duckdb", "bigquery"]
ENGINES = ("duckdb", "bigquery")


class SettingsError(ValueError):
    """The settings name something that does not exist (a dbt target, a BigQuery project); `hint` says what
    to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def profile_targets(project_dir: Path) -> dict[str, str]:
    """The dbt targets of riskmart's profile (profiles/profiles.yml) and their adapter type."""
    path = project_dir / "profiles" / "profiles.yml"
    try:
        outputs = yaml.safe_load(path.read_text(encoding="utf-8"))[PROFILE_NAME]["outputs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise SettingsError(
            f"cannot read the dbt targets of profile {PROFILE_NAME!r} from {path}: {exc}",
            "point RISKMART_DBT_PROJECT_DIR at the folder holding dbt_project.yml and profiles/",
        ) from None
    return {str(name): str(output.get("type")) for name, output in outputs.items()}


class Settings(ApiSettings):
    """Configuration of a riskmart installation. CLI options override these per call. The API's settings
    (publish folder, keys, audit log) are `api.settings.ApiSettings`, which this extends: the service reads
    only those."""

    model_config = SettingsConfigDict(env_prefix="RISKMART_", env_file=None, extra="ignore")

    warehouse: Path = Field(Path("warehouse/riskmart.duckdb"), description="DuckDB warehouse file.")
    landing: Path | str = Field(
        Path("data/landing"),
        description="Landing folder of the daily export: a local folder, or an fsspec URL (gs://bucket/prefix,"
        " with the bigquery extra's gcsfs).",
    )
    truth: Path | None = Field(
        None,
        description="Ground truth of a demo export (client_month_pd.csv or its folder): training compares"
        " the model with it only when this is set; `demo-data` writes it here (default truth/ beside landing).",
    )
    registry_dir: Path | None = Field(
        None, description="Model artifacts; default models/ beside the warehouse."
    )
    dbt_target: str = Field(
        "dev",
        description="dbt target in profiles/profiles.yml (dev, ci: DuckDB; prod, emulator: BigQuery); its"
        " type is the engine every layer uses.",
    )
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
    # BigQuery (a target of type bigquery): the same variables the profile reads, passed to dbt by dbt_env()
    bq_project: str | None = Field(None, description="BigQuery project holding riskmart's datasets.")
    bq_dataset: str = Field(
        "riskmart", description="BigQuery dataset of models without a schema (the others are named by it)."
    )
    bq_location: str = Field("US", description="BigQuery location of the datasets and jobs.")
    bq_method: Literal["oauth", "service-account"] = Field(
        "oauth",
        description="BigQuery authentication: oauth (application default credentials, gcloud or the"
        " metadata server) or service-account (RISKMART_BQ_KEYFILE).",
    )
    bq_keyfile: Path | None = Field(None, description="Service-account JSON key (bq_method=service-account).")
    bq_api_endpoint: str | None = Field(
        None, description="BigQuery API endpoint instead of Google's (a local emulator, for the tests)."
    )
    lock_dir: Path | None = Field(
        None,
        description="BigQuery targets: folder of the run lock file (default: the registry's parent folder);"
        " a DuckDB warehouse's lock is always <warehouse>.lock.",
    )
    publish_url: str | None = Field(
        None,
        description="Publish the bundles to this fsspec URL (gs://bucket/prefix, needs the bigquery extra's"
        " gcsfs) instead of publish_dir, in the same layout; the API reads a local folder synced from it.",
    )
    dbt_parse_cache: Path | None = Field(
        Path.home() / ".cache" / "riskmart" / "dbt-parse",
        description="Folder where dbt's parse state is kept for every warehouse of this project checkout: a new"
        " warehouse's first dbt command starts from it instead of parsing the whole project (~11 s)."
        " dbt checks the state against the project, profile and vars, and parses anew when it does not fit.",
    )
    # One thread: at riskmart's sizes XGBoost's many short parallel steps cost more in waiting than they
    # save when other work shares the cores (a fit at 20,000 x 24: 3 s of CPU on one thread, 7-26 s on two).
    ml_threads: int = Field(1, ge=0, description="XGBoost threads for training and scoring; 0 = all cores.")

    @field_validator("landing", mode="before")
    @classmethod
    def _landing_folder_or_url(cls, value: object) -> object:
        """A URL stays text (a Path would fold gs://bucket into gs:/bucket); a file:// URL or a path is a Path."""
        from bundle.remote import is_remote, local_folder

        return value if is_remote(value) or not isinstance(value, str | Path) else local_folder(value)

    @cached_property
    def landing_path(self) -> Path:
        """The landing as a local folder; a SettingsError for a URL (demo data is written to a folder)."""
        if not isinstance(self.landing, Path):
            raise SettingsError(
                f"the landing {self.landing} is a URL, not a local folder",
                "pass --landing (or RISKMART_LANDING) as a local folder for this command",
            )
        return self.landing

    @cached_property
    def truth_dir(self) -> Path:
        """Where `riskmart demo-data` writes the ground truth (training reads only `truth`, when set)."""
        return self.truth if self.truth is not None else self.landing_path.parent / "truth"

    @cached_property
    def publish_target(self) -> Path | str:
        """Where the pipeline publishes: publish_url when set, else the publish folder."""
        return self.publish_url or self.publish_path

    @cached_property
    def registry_path(self) -> Path:
        return self.registry_dir if self.registry_dir is not None else self.warehouse.parent / "models"

    @property
    def landing_hash_cache(self) -> Path:
        """What ingest's discovery read of each landing file (ingest.discovery.HashCache), beside the warehouse."""
        return self.warehouse.parent / "landing_hashes.json"

    @cached_property
    def engine(self) -> Engine:
        """The engine of the dbt target (its `type` in profiles/profiles.yml): what every layer opens."""
        targets = profile_targets(self.dbt_project_dir)
        if self.dbt_target not in targets:
            raise SettingsError(
                f"dbt target {self.dbt_target!r} is not in profiles/profiles.yml (targets: {', '.join(targets)})",
                "set --target (or RISKMART_DBT_TARGET) to one of them",
            )
        kind = targets[self.dbt_target]
        if kind not in ENGINES:
            raise SettingsError(
                f"dbt target {self.dbt_target!r} is of type {kind!r}; riskmart runs on {' or '.join(ENGINES)}",
                "choose a target of type duckdb or bigquery in profiles/profiles.yml",
            )
        return kind  # type: ignore[return-value]

    def bigquery_client(self):
        """A google.cloud.bigquery.Client for these settings (riskmart.bigquery.bigquery_client): what
        `ml.warehouse.open_warehouse` calls, since the ML layer imports nothing of riskmart."""
        from riskmart.bigquery import bigquery_client

        return bigquery_client(self)

    def dbt_env(self) -> dict[str, str]:
        """The environment dbt's profile reads, so one setting moves the whole project."""
        env = {
            "RISKMART_WAREHOUSE": str(self.warehouse.resolve()),
            "RISKMART_DBT_TARGET": self.dbt_target,
            "RISKMART_PII_SALT": self.pii_salt.get_secret_value(),
            "RISKMART_BQ_DATASET": self.bq_dataset,
            "RISKMART_BQ_LOCATION": self.bq_location,
            "RISKMART_BQ_METHOD": self.bq_method,
        }
        optional = {
            "RISKMART_BQ_PROJECT": self.bq_project,
            "RISKMART_BQ_KEYFILE": self.bq_keyfile,
            "RISKMART_BQ_API_ENDPOINT": self.bq_api_endpoint,
        }
        env |= {name: str(value) for name, value in optional.items() if value is not None}
        return env


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI options (those not None) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
