"""The production target refuses the public development PII salt, by hand (`dbt build --target prod`) and from
the CLI, before anything runs; and it loads with either of BigQuery's authentications (OAuth, service account).
No Google Cloud is reachable here: dbt fails while parsing the project, before it connects, which is what
these tests rely on (a credentials error instead of the salt's would fail them)."""

from __future__ import annotations

import os
from argparse import Namespace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmart.cli import app
from riskmart.dbt import (
    DEVELOPMENT_PII_SALT,
    DevelopmentSaltError,
    production_targets,
    refuse_development_salt,
)
from riskmart.operations import ExitCode
from riskmart.settings import PROJECT_DIR, Settings

SECRET_SALT = "3f9c2a7e5b1d4c8a9e6f0b2d7c4a1e8f"


def _dbt(args: list[str], tmp_path: Path, patch: pytest.MonkeyPatch, **env: str):
    from dbt.cli.main import dbtRunner

    for name, value in env.items():
        patch.setenv(name, value)
    work = tmp_path / "dbt"
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR / "profiles"),
            "--target",
            "prod",
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ]
    )


def test_dbt_build_on_prod_refuses_the_development_salt(tmp_path, monkeypatch):
    """The project parses for prod with a secret salt. Then `dbt build --target prod` by hand with
    RISKMART_PII_SALT unset, in the same target folder (dbt's partial parsing re-renders what reads the
    variable): dbt stops while parsing, before it connects to BigQuery or runs any node, naming the variable."""
    result = _dbt(["parse"], tmp_path, monkeypatch, RISKMART_PII_SALT=SECRET_SALT, RISKMART_BQ_METHOD="oauth")
    assert result.success, result.exception
    monkeypatch.delenv("RISKMART_PII_SALT")
    result = _dbt(["build"], tmp_path, monkeypatch)
    assert not result.success
    message = str(result.exception)
    assert "RISKMART_PII_SALT" in message and "production target" in message, message
    assert not (tmp_path / "dbt" / "target" / "run_results.json").exists(), "no node ran"


@pytest.mark.parametrize("method", ["oauth", "service-account"])
def test_the_prod_profile_takes_oauth_or_a_service_account(method, tmp_path, monkeypatch):
    """RISKMART_BQ_METHOD picks dbt-bigquery's authentication: OAuth (gcloud's application-default
    credentials) or a service account's key file (RISKMART_BQ_KEYFILE), as dbt-bigquery loads the profile."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    keyfile = tmp_path / "key.json"
    monkeypatch.setenv("RISKMART_BQ_METHOD", method)
    monkeypatch.setenv("RISKMART_BQ_KEYFILE", str(keyfile))
    monkeypatch.setenv("RISKMART_BQ_PROJECT", "a-lender")
    set_from_args(Namespace(), None)  # dbt's global flags, as a dbt command sets them
    set_invocation_context(dict(os.environ))  # what dbt's env_var reads
    profile = Profile.from_raw_profiles(
        read_profile(str(PROJECT_DIR / "profiles")), "riskmart", ProfileRenderer({}), target_override="prod"
    )
    credentials = profile.credentials
    assert credentials.type == "bigquery" and credentials.method == method
    assert credentials.database == "a-lender"
    if method == "service-account":
        assert credentials.keyfile == str(keyfile)


def test_the_development_salt_is_the_same_everywhere():
    """The CLI's check, the settings' default and the dbt macro name one salt, and prod is a production target."""
    assert Settings().pii_salt.get_secret_value() == DEVELOPMENT_PII_SALT
    assert (
        f"return('{DEVELOPMENT_PII_SALT}')"
        in (PROJECT_DIR / "macros" / "development_pii_salt.sql").read_text()
    )
    assert production_targets(PROJECT_DIR) == ("prod",)


@pytest.mark.parametrize("salt", [None, "", DEVELOPMENT_PII_SALT])
def test_the_refusal_in_python(salt, monkeypatch):
    monkeypatch.delenv("RISKMART_PII_SALT", raising=False)
    settings = Settings(dbt_target="prod", **({} if salt is None else {"pii_salt": salt}))
    with pytest.raises(DevelopmentSaltError, match="RISKMART_PII_SALT"):
        refuse_development_salt(settings)
    refuse_development_salt(Settings(dbt_target="prod", pii_salt=SECRET_SALT))
    refuse_development_salt(Settings(dbt_target="dev"))


@pytest.mark.parametrize(
    "verb",
    [["build", "--target", "prod"], ["build", "--daily", "features"], ["run"], ["backfill"], ["maintain"]],
)
def test_the_cli_refuses_the_development_salt_on_prod_before_anything_runs(verb, tmp_path, monkeypatch):
    monkeypatch.delenv("RISKMART_PII_SALT", raising=False)
    monkeypatch.setenv("RISKMART_DBT_TARGET", "prod")
    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "warehouse" / "riskmart.duckdb"
    args = [*verb, "--warehouse", str(warehouse)]
    if verb[0] in {"run", "backfill"}:
        args += ["--landing", str(landing)]
    result = CliRunner().invoke(app, args)
    output = " ".join(result.output.split())
    assert result.exit_code == ExitCode.USAGE, output
    assert "RISKMART_PII_SALT" in output and "what to do:" in output and "secret" in output, output
    assert not warehouse.parent.exists(), "nothing ran: not even the warehouse's folder was created"
