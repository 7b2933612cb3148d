"""The daily cycle (architecture.md): every step also runs alone, and a re-run gives the same result."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ml.warehouse import TableSpec, TableWrite, Warehouse, open_warehouse
from riskmart.settings import Settings

# dbt selectors of the two builds around the ML step: the scored mart and the staging views of the tables the
# ML step writes (re-created after scoring: they read as empty before the first `riskmart score`).
SCORING_SELECTOR = "path:models/marts/scoring path:models/staging/ml"
# the monitoring marts judge the champion of the day and its scores: built after training and scoring
MONITORING_SELECTOR = "path:models/intermediate/monitoring path:models/marts/monitoring"
# The daily builds run the data tests, not the unit tests: those check the SQL logic on fixed inputs, so
# they run in CI and by hand (`riskmart build`, `dbt build`), as dbt recommends for production runs.
DAILY_BUILD = ["build", "--exclude-resource-type", "unit_test"]
# the cycle's two builds: the feature mart (every model but the scored mart), then, after scoring, the scored mart
FEATURE_BUILD_EXCLUDES = (SCORING_SELECTOR, MONITORING_SELECTOR)
DAILY_FEATURE_BUILD = [*DAILY_BUILD, "--exclude", *FEATURE_BUILD_EXCLUDES]
DAILY_SCORING_BUILD = [*DAILY_BUILD, "--select", SCORING_SELECTOR, MONITORING_SELECTOR]


# One row per completed daily cycle (as-of date, champion, bundle, finish time), written after publishing:
# what `riskmart backfill` resumes from, and a record of when each day's scores went out.
CYCLE_RUNS = "riskmart_meta.cycle_runs"
CYCLE_RUNS_TABLE = TableSpec(
    name=CYCLE_RUNS,
    columns=(
        ("as_of_date", "date"),
        ("model_version", "string"),
        ("bundle", "string"),
        ("finished_at", "timestamp"),
    ),
    # each run adds its row: a finish time is never replaced
    replace_key=("as_of_date", "finished_at"),
)
RAW_CLIENTS = "raw.clients"

# The feature build of each as-of date, recorded when it succeeds with the inputs it was built from
# (feature_build_inputs). A re-run of a day whose last attempt was interrupted after this build (killed, or
# failed in a later step) keeps the build instead of repeating it, when the inputs are still the same.
FEATURE_BUILDS = "riskmart_meta.feature_builds"
FEATURE_BUILDS_TABLE = TableSpec(
    name=FEATURE_BUILDS,
    columns=(("as_of_date", "date"), ("inputs", "string"), ("finished_at", "timestamp")),
    replace_key=("as_of_date",),
)
# The seeds (dbt recreates each seed table whenever a build selects it: `+full_refresh` in dbt_project.yml),
# recorded with the project's inputs (project_inputs) when a feature build that loaded them succeeds. While
# those inputs are the ones of the newest load and every seed table is there, the daily feature build leaves
# the seeds as they are (SEEDS_SELECTOR excluded): the ten tables are the same, and their recreation and
# data tests were about a tenth of a daily feature build's CPU (BENCHMARKS.md).
SEED_LOADS = "riskmart_meta.seed_loads"
SEED_LOADS_TABLE = TableSpec(
    name=SEED_LOADS,
    columns=(("inputs", "string"), ("loaded_at", "timestamp")),
    replace_key=("inputs",),
)
SEEDS_SELECTOR = "resource_type:seed"
# what dbt reads besides the warehouse: dbt_project.yml's *-paths and the profile
DBT_PROJECT_FILES = ("dbt_project.yml", "profiles", "models", "macros", "seeds", "tests", "analyses")
INGEST_LOG = "raw.ingest_log"


class CycleError(RuntimeError):
    """The cycle cannot go on; `hint` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class CycleSummary:
    as_of: date | None = None
    files: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    files_rejected: int = 0
    trained: str | None = None  # version trained in this run
    promoted: bool = False
    model_version: str | None = None
    model_metrics: dict = field(default_factory=dict)
    clients_scored: int = 0
    risk_levels: dict[str, int] = field(default_factory=dict)
    alerts: list[dict] = field(default_factory=list)  # marts.mon_alerts of the as-of date
    published: str | None = None
    maintenance: list[tuple[str, str]] = field(default_factory=list)  # riskmart.maintain, when it ran
    seconds: dict[str, float] = field(default_factory=dict)


# The cycle's steps, in order, as its output names them: `▸ <step>` when one starts, `✓ <step> (n s)` when it
# ends. A log thus shows which step a killed or failed run was in; the crash tests kill runs on these marks.
STEPS = ("ingest", "dbt build: features", "train", "score", "dbt build: scores", "publish", "maintain")
STEP_STARTED = "▸ {step}"


@contextmanager
def _step(name: str, summary: CycleSummary, console: Console) -> Iterator[None]:
    started = time.perf_counter()
    console.print(STEP_STARTED.format(step=name), markup=False, highlight=False)
    with console.status(f"[bold]{name}[/]"):
        yield
    summary.seconds[name] = round(time.perf_counter() - started, 2)
    console.print(f"[green]✓[/] {name} ({summary.seconds[name]:.1f} s)")


def ingest_destination(settings: Settings):
    """Where ingest writes: the DuckDB warehouse file, or on a BigQuery target the raw dataset through
    ingest's BigQueryRawWriter (a RawWriter, like the file's)."""
    if settings.engine == "bigquery":
        from riskmart.bigquery import raw_writer

        return raw_writer(settings)
    return settings.warehouse


def latest_export_date(settings: Settings) -> date | None:
    """The newest export date loaded into raw.clients: the default as-of date of a run."""
    warehouse = open_warehouse(settings)
    if warehouse.table_columns(RAW_CLIENTS) is None:
        return None
    return _date_or_none(warehouse.read(f"select max(_export_date) as d from {RAW_CLIENTS}")["d"].iloc[0])  # noqa: S608


def _date_or_none(value: object) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def run_daily_cycle(settings: Settings, *, as_of: date | None, console: Console) -> CycleSummary:
    """ingest → dbt build (features) → train if due → score → dbt build (scores) → publish → maintain
    (`riskmart.maintain`, unless settings.maintain_after_run is off) → summary."""
    from ingest.loader import ingest_landing
    from ml.dataset import GroundTruthError, NotEnoughHistoryError
    from ml.registry import champion_info
    from ml.score import score_date
    from ml.train import needs_training, train_model
    from riskmart.dbt import run_dbt
    from riskmart.publish import publish_bundle

    summary = CycleSummary()
    with _step("ingest", summary, console):
        result = ingest_landing(
            settings.landing,
            ingest_destination(settings),
            as_of=as_of,
            hash_cache=settings.landing_hash_cache,
        )
    summary.files = len(result.files)
    summary.rows_loaded = sum(f["rows_loaded"] for f in result.files)
    summary.rows_rejected = sum(f["rows_rejected"] for f in result.files)
    summary.files_rejected = sum(f["status"] == "rejected" for f in result.files)

    summary.as_of = as_of or latest_export_date(settings)
    if summary.as_of is None:
        raise CycleError(
            f"nothing was loaded from {settings.landing}: there is no export to score",
            "point --landing (or RISKMART_LANDING) at an export, or create one with `riskmart demo-data`",
        )
    build_features(settings, summary, console)

    if needs_training(settings, summary.as_of):
        try:
            with _step("train", summary, console):
                # the ground truth of a demo export, only when one is configured
                trained = train_model(settings, as_of=summary.as_of, truth=settings.truth)
        except GroundTruthError as exc:
            raise CycleError(str(exc), exc.hint) from None
        except NotEnoughHistoryError as exc:
            # Too little matured history is a normal state for a young lender: the rules score alone.
            console.print(f"[yellow]no model trained:[/] {exc}")
        else:
            summary.trained = trained.model_version
            summary.promoted = trained.promoted

    champion = champion_info(settings)
    if champion is not None:
        with _step("score", summary, console):
            scored = score_date(settings, summary.as_of)
        summary.clients_scored = scored.clients_scored + scored.clients_in_default
        summary.model_version = champion["model_version"]
        summary.model_metrics = champion.get("metrics", {})

    with _step("dbt build: scores", summary, console):
        run_dbt(settings, DAILY_SCORING_BUILD, as_of=summary.as_of, quiet=True)

    with _step("publish", summary, console):
        # the bundle: scored mart, seeds as built, and the champion's card and files from the registry
        published = publish_bundle(
            open_warehouse(settings),
            settings.publish_target,
            champion,
            registry_path=settings.registry_path,
            project_dir=settings.dbt_project_dir,
        )
    summary.published = str(published.path)
    if settings.maintain_after_run:
        from riskmart.maintain import maintain_warehouse

        # last, after publishing: the day's scores are out even if maintenance fails (a rerun redoes it)
        with _step("maintain", summary, console):
            summary.maintenance = maintain_warehouse(settings).lines()
    record_cycle(settings, summary)
    summary.risk_levels = _risk_levels(settings, summary.as_of)
    summary.alerts = todays_alerts(settings, summary.as_of)
    if champion is None:
        summary.clients_scored = sum(summary.risk_levels.values())
    _print_summary(summary, console)
    return summary


def build_features(settings: Settings, summary: CycleSummary, console: Console) -> None:
    """The cycle's feature build of `summary.as_of`: kept when this day's interrupted run finished it from
    the same inputs (feature_build_kept); the seeds left as they are when they were loaded from the same
    project (seeds_loaded)."""
    from riskmart.dbt import run_dbt

    project = project_inputs(settings)
    inputs = feature_build_inputs(settings, summary.as_of, project)
    if feature_build_kept(settings, summary.as_of, inputs):
        console.print(
            "[green]✓[/] dbt build: features (kept: built by this day's interrupted run, from the same"
            " project, profile and ingested files)"
        )
        return
    keep_seeds = seeds_loaded(settings, project)
    excluded = (*FEATURE_BUILD_EXCLUDES, SEEDS_SELECTOR) if keep_seeds else FEATURE_BUILD_EXCLUDES
    build = [*DAILY_BUILD, "--exclude", *excluded]
    with _step("dbt build: features", summary, console):
        run_dbt(settings, build, as_of=summary.as_of, quiet=True)
    if not keep_seeds:
        _record_seed_load(settings, project)
    _record_feature_build(settings, summary.as_of, inputs)


def project_inputs(settings: Settings) -> str:
    """A digest of what any dbt build reads besides the warehouse's tables: the dbt project's files, dbt's
    version, the environment riskmart gives dbt (riskmart.dbt: target, warehouse name, PII salt, ...) and
    every other variable the project's files read with env_var()."""
    import os

    from dbt.version import __version__ as dbt_version

    from riskmart.dbt import PROFILE_ENV_VAR, dbt_process_env

    digest = hashlib.sha256(dbt_version.encode())
    project, read = settings.dbt_project_dir, set()
    for top in DBT_PROJECT_FILES:
        paths = [project / top] if (project / top).is_file() else sorted((project / top).rglob("*"))
        for path in (p for p in paths if p.is_file()):
            content = path.read_bytes()
            digest.update(f"\0{path.relative_to(project)}\0".encode() + content)
            read.update(PROFILE_ENV_VAR.findall(content.decode("utf-8", errors="replace")))
    env, _ = dbt_process_env(settings)
    for name in sorted(read | set(env)):
        digest.update(f"\0{name}={env.get(name, os.environ.get(name, ''))}".encode())
    return digest.hexdigest()


def feature_build_inputs(settings: Settings, as_of: date, project: str | None = None) -> str:
    """A digest of everything the daily feature build of `as_of` reads: the project's inputs (`project`, from
    project_inputs when not given) and the ingest log (every file ingest loads or rejects adds a row to it)."""
    project = project or project_inputs(settings)
    digest = hashlib.sha256(f"{project}\0{as_of.isoformat()}".encode())
    warehouse = open_warehouse(settings)
    if warehouse.table_columns(INGEST_LOG) is not None:
        log = warehouse.read(
            f"select count(*) as files, max(finished_at) as last, sum(rows_loaded) as rows from {INGEST_LOG}"  # noqa: S608
        ).iloc[0]
        digest.update(f"\0{log['files']}\0{log['last']}\0{log['rows']}".encode())
    return digest.hexdigest()


def feature_build_kept(settings: Settings, as_of: date, inputs: str) -> bool:
    """True when an attempt of this day built the features from `inputs` and did not finish after it (no
    CYCLE_RUNS row of the day since): its build stands, a re-run goes on from it. A day that completed is
    built again when run again."""
    warehouse = open_warehouse(settings)
    if warehouse.table_columns(FEATURE_BUILDS) is None:
        return False
    built = warehouse.read(
        f"select inputs, finished_at from {FEATURE_BUILDS} where as_of_date = ?",  # noqa: S608
        [as_of],
    )
    if built.empty or built["inputs"].iloc[0] != inputs:
        return False
    if warehouse.table_columns(CYCLE_RUNS) is None:
        return True
    completed = warehouse.read(
        f"select max(finished_at) as last from {CYCLE_RUNS} where as_of_date = ?",  # noqa: S608
        [as_of],
    )["last"].iloc[0]
    return pd.isna(completed) or completed < built["finished_at"].iloc[0]


def _record_feature_build(settings: Settings, as_of: date, inputs: str) -> None:
    row = {"as_of_date": as_of, "inputs": inputs, "finished_at": datetime.now(UTC).replace(tzinfo=None)}
    open_warehouse(settings).replace_rows([TableWrite(FEATURE_BUILDS_TABLE, pd.DataFrame([row]))])


def seeds_loaded(settings: Settings, project: str) -> bool:
    """True when the newest seed load of this warehouse was from the project's inputs `project` and every
    seed of the project (a CSV file under seeds/, loaded into the schema `seeds`) is a table: a build then
    needs not recreate them. One connection for its dozen lookups (each open reads the file's catalog)."""
    seeds = sorted((settings.dbt_project_dir / "seeds").rglob("*.csv"))
    with open_warehouse(settings).session() as warehouse:
        if warehouse.table_columns(SEED_LOADS) is None:
            return False
        newest = warehouse.read(f"select inputs from {SEED_LOADS} order by loaded_at desc limit 1")  # noqa: S608
        if newest.empty or newest["inputs"].iloc[0] != project:
            return False
        return all(warehouse.table_columns(f"seeds.{seed.stem}") is not None for seed in seeds)


def _record_seed_load(settings: Settings, project: str) -> None:
    row = {"inputs": project, "loaded_at": datetime.now(UTC).replace(tzinfo=None)}
    open_warehouse(settings).replace_rows([TableWrite(SEED_LOADS_TABLE, pd.DataFrame([row]))])


def record_cycle(settings: Settings, summary: CycleSummary) -> None:
    """Add the completed cycle's row to CYCLE_RUNS (the last write of a run: a run killed before it is redone)."""
    row = {
        "as_of_date": summary.as_of,
        "model_version": summary.model_version,
        "bundle": Path(summary.published).name if summary.published else None,
        "finished_at": datetime.now(UTC).replace(tzinfo=None),
    }
    open_warehouse(settings).replace_rows([TableWrite(CYCLE_RUNS_TABLE, pd.DataFrame([row]))])


def completed_days(settings: Settings) -> set[date]:
    """The as-of dates whose daily cycle ran to its end (CYCLE_RUNS)."""
    warehouse = open_warehouse(settings)
    if warehouse.table_columns(CYCLE_RUNS) is None:
        return set()
    days = warehouse.read(f"select distinct as_of_date from {CYCLE_RUNS}")["as_of_date"]  # noqa: S608
    return {pd.Timestamp(day).date() for day in days if not pd.isna(day)}


def backfill(
    settings: Settings,
    *,
    start: date | None,
    end: date | None,
    console: Console,
    on_day: Callable[[date], None] | None = None,
) -> list[CycleSummary]:
    """Run the daily cycle as of every export date of the landing folder from `start` to `end` (each
    optional), oldest first. Days whose cycle completed (CYCLE_RUNS) are skipped, so after a crash the same
    command resumes at the day it did not finish (and redoes that day whole, as a re-run does)."""
    from ingest.discovery import export_dates

    days = [
        d
        for d in export_dates(settings.landing)
        if (start is None or d >= start) and (end is None or d <= end)
    ]
    if not days:
        window = f" from {start or 'the first'} to {end or 'the last'}"
        raise CycleError(
            f"{settings.landing} holds no export dated{window}",
            "point --landing (or RISKMART_LANDING) at an export, or widen --from/--to",
        )
    done = completed_days(settings)
    todo = [d for d in days if d not in done]
    if len(todo) < len(days):
        resume = f"resuming at {todo[0]}" if todo else "nothing left to do"
        console.print(f"{len(days) - len(todo)} of {len(days)} days already done: {resume}")
    summaries = []
    for day in todo:
        console.rule(f"as of {day}")
        summaries.append(run_daily_cycle(settings, as_of=day, console=console))
        if on_day:
            on_day(day)
    return summaries


def _risk_levels(settings: Settings, as_of: date) -> dict[str, int]:
    rows = open_warehouse(settings).read(
        "select risk_level, count(*) as n from marts.fct_client_scores where score_date = ?"
        " group by risk_level order by risk_level",
        [as_of],
    )
    return {str(level): int(n) for level, n in zip(rows["risk_level"], rows["n"], strict=True)}


def todays_alerts(settings: Settings, as_of: date) -> list[dict]:
    """The monitoring alerts dated `as_of` (marts.mon_alerts), most severe first; none before it is built."""
    warehouse: Warehouse = open_warehouse(settings)
    if warehouse.table_columns("marts.mon_alerts") is None:
        return []
    frame = warehouse.read(
        "select severity, alert_type, subject, metric, metric_value, threshold, recommended_action"
        " from marts.mon_alerts where alert_date = ?"
        " order by case severity when 'critical' then 0 else 1 end, alert_type, subject",
        [as_of],
    )
    # plain Python values (None, not NaN, for a missing number), as the summary and the bundle print them
    return [
        {k: (None if _missing(v) else (v.item() if hasattr(v, "item") else v)) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _print_summary(summary: CycleSummary, console: Console) -> None:
    table = Table(title=f"riskmart run as of {summary.as_of}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("files loaded", str(summary.files))
    table.add_row("rows loaded / rejected", f"{summary.rows_loaded} / {summary.rows_rejected}")
    table.add_row("files rejected", str(summary.files_rejected))
    if summary.trained:
        table.add_row("trained", f"{summary.trained} ({'champion' if summary.promoted else 'challenger'})")
    table.add_row("model", summary.model_version or "none yet: rule score only")
    for name in ("auc", "gini", "ks", "brier", "ece"):
        if name in summary.model_metrics:
            table.add_row(f"test {name}", f"{summary.model_metrics[name]:.4f}")
    table.add_row("clients scored", str(summary.clients_scored))
    table.add_row("risk levels", ", ".join(f"{k} {v}" for k, v in summary.risk_levels.items()))
    table.add_row("alerts today", str(len(summary.alerts)) if summary.alerts else "none")
    for alert in summary.alerts:
        value = "-" if alert["metric_value"] is None else f"{alert['metric_value']:.3g}"
        table.add_row(
            f"  {alert['severity']}",
            f"{alert['alert_type']} {alert['subject']}: {alert['metric']} {value}"
            f" (threshold {alert['threshold']:.3g}); {alert['recommended_action']}",
        )
    table.add_row("published", summary.published or "-")
    for what, done in summary.maintenance:
        table.add_row(what, done)
    table.add_row("seconds", ", ".join(f"{k} {v}" for k, v in summary.seconds.items()))
    console.print(table)
