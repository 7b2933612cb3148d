"""Run dbt in-process against the configured warehouse."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import chdir, contextmanager, nullcontext
from datetime import date
from pathlib import Path

from riskmart.settings import Settings

# The development and tests' PII salt (macros/development_pii_salt.sql; Settings.pii_salt's default):
# public, so a production target refuses it.
DEVELOPMENT_PII_SALT = "riskmart-dev-salt"


class DbtError(RuntimeError):
    """dbt ran and reported a failure (a model, a test or the project itself); `nodes` names the failing
    models and tests."""

    def __init__(self, message: str, nodes: list[str] | None = None) -> None:
        super().__init__(message)
        self.nodes = nodes or []


def failed_nodes(run_results: Path) -> list[str]:
    """The failing nodes of dbt's last command, from its run_results.json: `<type> <name>: <status>:
    <message>`."""
    try:
        results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    failed = []
    for result in results:
        status = str(result.get("status", "")).lower()
        if status in {"error", "fail", "runtime error"}:
            unique_id = str(result.get("unique_id", "?"))
            kind, _, name = unique_id.partition(".")
            name = name.split(".", 1)[-1] if "." in name else name
            message = " ".join(str(result.get("message") or "").split())[:300]
            failed.append(f"{kind} {name}: {status}: {message}")
    return failed


class DevelopmentSaltError(DbtError):
    """A production dbt target with the development PII salt: refused before anything runs."""


def production_targets(project_dir: Path) -> tuple[str, ...]:
    """The dbt targets that hold a lender's real data: dbt_project.yml's var `production_targets`, the list
    the macro refuse_development_salt reads too."""
    import yaml

    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return tuple((project.get("vars") or {}).get("production_targets") or ())


def refuse_development_salt(settings: Settings) -> None:
    """Raise DevelopmentSaltError when settings.dbt_target is a production target and the PII salt is empty or
    the development salt (as dbt does itself, macros/refuse_development_salt.sql), before any step of a command runs."""
    salt = settings.pii_salt.get_secret_value()
    production = settings.dbt_target in production_targets(settings.dbt_project_dir)
    if production and salt in ("", DEVELOPMENT_PII_SALT):
        raise DevelopmentSaltError(
            f"dbt target {settings.dbt_target!r} is a production target and RISKMART_PII_SALT is unset, empty"
            f" or the development salt {DEVELOPMENT_PII_SALT!r}, whose hashes anyone can recompute"
        )


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


# dbt keeps its parse state in <target-path>/partial_parse.msgpack and parses only what changed since; a
# warehouse with no state yet (its first command) parses the whole project, ~11 s. The state fits every
# warehouse of one checkout as long as the profile reads the same, so run_dbt gives dbt the warehouse's path
# relative to its folder (the profile then reads `riskmart.duckdb` for any folder), starts a warehouse with no
# state from the last state kept in Settings.dbt_parse_cache, and keeps each new state there. dbt itself checks
# a state against the project's files, the profile, the vars and the environment, and parses anew when it
# does not fit: a cached state can cost a parse, never a wrong manifest.
PARSE_STATE = "partial_parse.msgpack"


PROFILE_ENV_VAR = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")


def parse_cache_file(settings: Settings, env: dict[str, str]) -> Path | None:
    """The cached parse state for this project checkout, dbt version, target and profile: the profile as
    given by the environment variables it reads (`env` first, then this process's), so that warehouses with
    different profiles (another file name, memory limit, BigQuery project) keep states of their own. None:
    no cache."""
    if settings.dbt_parse_cache is None:
        return None
    from dbt.version import __version__ as dbt_version

    profile = (settings.dbt_project_dir / "profiles" / "profiles.yml").read_text(encoding="utf-8")
    names = sorted(set(PROFILE_ENV_VAR.findall(profile)))
    values = [f"{name}={env.get(name, os.environ.get(name, ''))}" for name in names]
    key = "\0".join([dbt_version, str(settings.dbt_project_dir.resolve()), settings.dbt_target, *values])
    return settings.dbt_parse_cache / hashlib.sha256(key.encode()).hexdigest()[:20] / PARSE_STATE


def _start_from_cached_parse(target_dir: Path, cached: Path | None) -> None:
    if cached is None or (target_dir / PARSE_STATE).exists() or not cached.is_file():
        return
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(cached, target_dir / PARSE_STATE)
    except OSError:
        pass  # a cache that cannot be read costs a full parse, nothing else


def _keep_parse(target_dir: Path, cached: Path | None) -> None:
    state = target_dir / PARSE_STATE
    if cached is None or not state.is_file():
        return
    try:
        if cached.is_file() and cached.stat().st_mtime >= state.stat().st_mtime:
            return
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".{PARSE_STATE}.{os.getpid()}")
        shutil.copyfile(state, partial)
        os.replace(partial, cached)  # whole or not at all, also with other processes writing it
    except OSError:
        pass  # an unwritable cache only means the next new warehouse parses in full


def release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a command, so that the ML
    layer, the publisher or another process can open the file afterwards."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def dbt_process_env(settings: Settings) -> tuple[dict[str, str], Path | None]:
    """The environment run_dbt gives dbt, and the folder it runs dbt from: on DuckDB, the warehouse by its
    name from its folder, so that the profile reads the same for every warehouse of that name."""
    env = settings.dbt_env()
    if settings.engine != "duckdb":
        return env, None
    warehouse = settings.warehouse.resolve()
    env["RISKMART_WAREHOUSE"] = warehouse.name
    return env, warehouse.parent


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    as_of: date | None = None,
    dbt_vars: dict | None = None,
    quiet: bool = False,
) -> object:
    """Invoke `dbt <args>` on riskmart's project and profile; raise DbtError when it fails.

    `as_of` is the latest data date the models may use. It reaches dbt as the environment variable
    RISKMART_AS_OF_DATE, not as a var: dbt re-parses the whole project when its vars change, so a date
    passed as a var would cost a full parse every day. Returns dbt's result object (for `build`/`run`, a
    RunExecutionResult). `quiet` keeps dbt's console to errors (the daily cycle prints its own progress);
    dbt's full log is in dbt/logs beside the warehouse.
    """
    from dbt.cli.main import dbtRunner

    refuse_development_salt(settings)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    project_dir = settings.dbt_project_dir.resolve()
    # dbt's target/ and logs/ live beside the warehouse: runs on different warehouses never share them.
    work_dir = settings.warehouse.resolve().parent / "dbt"
    full_args = [
        *args,
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir / "profiles"),
        "--target",
        settings.dbt_target,
    ]
    if quiet:
        full_args.append("--quiet")
    if dbt_vars:
        full_args += ["--vars", json.dumps(dbt_vars)]
    env, folder = dbt_process_env(settings)
    env["RISKMART_AS_OF_DATE"] = as_of.isoformat() if as_of else ""
    cached = parse_cache_file(settings, env)
    _start_from_cached_parse(work_dir / "target", cached)
    with chdir(folder) if folder is not None else nullcontext(), _environment(env):
        started = time.time()
        try:
            outcome = dbtRunner().invoke(full_args)
        finally:
            release_warehouse()
    if outcome.exception is None:
        _keep_parse(work_dir / "target", cached)
    log_file = work_dir / "logs" / "dbt.log"
    if outcome.exception is not None:
        raise DbtError(
            f"dbt {' '.join(args)} could not run: {outcome.exception} (dbt's log: {log_file})"
        ) from outcome.exception
    if not outcome.success:
        run_results = work_dir / "target" / "run_results.json"
        fresh = run_results.exists() and run_results.stat().st_mtime >= started - 1
        failed = failed_nodes(run_results) if fresh else []
        detail = "\n  ".join(failed) if failed else "no node reported a failure"
        raise DbtError(f"dbt {' '.join(args)} failed:\n  {detail}\ndbt's log: {log_file}", failed)
    return outcome.result
