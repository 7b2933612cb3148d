"""The score API's own settings, read from the same RISKMART_* environment variables as the pipeline's:
the service needs only where the bundles are published, its keys, its audit log and its poll interval."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Configuration of `riskmart serve` (uvicorn factory `api.main:create_app`)."""

    model_config = SettingsConfigDict(env_prefix="RISKMART_", env_file=None, extra="ignore")

    publish_dir: Path | None = Field(
        None, description="Folder of the published bundles; default published/ beside the warehouse."
    )
    warehouse: Path = Field(
        Path("warehouse/riskmart.duckdb"),
        description="Only to find the default publish folder beside it: the API never opens the warehouse.",
    )
    api_keys: str = Field(
        "", description="Comma-separated API keys (or sha256:<hex> hashes) accepted by the API."
    )
    api_revoked_keys: str = Field(
        "", description="Comma-separated revoked API keys (or sha256:<hex> hashes)."
    )
    audit_log: Path | None = Field(
        None, description="API audit log (JSON lines); default audit/api_audit.jsonl beside the publish dir."
    )
    audit_log_rotate: Literal["daily", "size", "never"] = Field(
        "daily",
        description="Rotate the audit log each UTC day (to <name>.<YYYY-MM-DD>), by size (past"
        " audit_log_max_bytes, to <name>.<UTC time>), or never. Rotated files are kept.",
    )
    audit_log_max_bytes: int = Field(
        256 * 1024 * 1024, ge=1024, description="With audit_log_rotate=size: the size a file may reach."
    )
    api_snapshot_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the API checks CURRENT for a newer published bundle."
    )

    @cached_property
    def publish_path(self) -> Path:
        return self.publish_dir if self.publish_dir is not None else self.warehouse.parent / "published"

    @cached_property
    def audit_log_path(self) -> Path:
        return (
            self.audit_log
            if self.audit_log is not None
            else self.publish_path.parent / "audit" / "api_audit.jsonl"
        )


def get_api_settings(**overrides: object) -> ApiSettings:
    return ApiSettings(**{k: v for k, v in overrides.items() if v is not None})
