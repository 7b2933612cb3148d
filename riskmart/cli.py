"""The `riskmart` command: thin verbs that parse options and call library functions."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bundle.layout import KEEP_BUNDLES
from riskmart.operations import ExitCode, OperatorError, writing_warehouse
from riskmart.runlock import run_lock_path
from riskmart.settings import Settings, SettingsError, get_settings

app = typer.Typer(
    help="riskmart: daily credit-risk scores for a B2B lender. Each verb has --help.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

WarehouseOpt = Annotated[
    Path | None, typer.Option("--warehouse", help="DuckDB warehouse file [env RISKMART_WAREHOUSE].")
]
LandingOpt = Annotated[
    str | None,
    typer.Option("--landing", help="Landing folder, or a URL (gs://bucket/prefix) [env RISKMART_LANDING]."),
]
LANDING_HINT = "point --landing (or RISKMART_LANDING) at an export, or create one with `riskmart demo-data`"
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait", help="When another riskmart run holds the warehouse, wait for it instead of exiting."
    ),
]
WaitSecondsOpt = Annotated[
    float, typer.Option("--wait-seconds", min=0, help="How long --wait waits at most.")
]
DEFAULT_WAIT_SECONDS = 3600.0


def fail(message: str, hint: str, code: int = ExitCode.USAGE) -> typer.Exit:
    """Print what was wrong and what to do, and give the exit to raise (codes: ExitCode, README)."""
    # never wrapped: an operator copies the paths and commands it names
    console.print(f"[bold red]error:[/] {message}\n[bold]what to do:[/] {hint}", soft_wrap=True)
    return typer.Exit(code=int(code))


@contextmanager
def holding_warehouse(settings: Settings, verb: str, wait: bool, wait_seconds: float) -> Iterator[None]:
    """Run the block as the one command writing the warehouse (run lock), turning what an operator can
    get wrong (busy, unwritable, foreign or damaged warehouse, full disk) into `error: / what to do:`."""
    # the command line as typed, for whoever finds the lock held; just the verb when called in-process
    typed = Path(sys.argv[0]).name in {"riskmart", "cli.py"} and sys.argv[1:2] == [verb]
    command = shlex.join(["riskmart", *sys.argv[1:]]) if typed else f"riskmart {verb}"
    try:
        lock_path, on_file = run_lock_path(settings), settings.engine == "duckdb"
    except SettingsError as exc:
        raise fail(str(exc), exc.hint) from None
    try:
        with writing_warehouse(
            settings.warehouse,
            command,
            wait_seconds=wait_seconds if wait else 0.0,
            notify=lambda message: console.print(f"[yellow]{message}[/]"),
            lock_path=lock_path,
            on_file=on_file,
        ):
            yield
    except OperatorError as exc:
        raise fail(str(exc), exc.hint, exc.code) from None


def dbt_failed(exc: Exception, hint: str) -> typer.Exit:
    return fail(str(exc), hint, ExitCode.DBT)


def model_failed_checksum(exc: Exception, settings: Settings) -> typer.Exit:
    return fail(
        f"{exc}; the model is refused, nothing was scored with it",
        f"restore the version's folder in {settings.registry_path} from a backup, or retrain"
        " (`riskmart train`) and score again",
        ExitCode.MODEL_INTEGRITY,
    )


def require_landing(settings: Settings) -> None:
    """Fail with what to do when the landing folder (or URL) cannot be listed."""
    from ingest.discovery import open_landing

    try:
        open_landing(settings.landing)
    except FileNotFoundError as exc:
        raise fail(str(exc), LANDING_HINT) from None
    except (OSError, ValueError, ImportError) as exc:  # an unknown scheme, gcsfs missing, refused credentials
        raise fail(
            f"cannot list the landing {settings.landing}: {exc}",
            "check the URL and its credentials (for gs://: `pip install 'riskmart[bigquery]'`, then"
            " `gcloud auth application-default login` or an attached service account)",
        ) from None


def parse_date(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option as a date (None stays None), or the CLI's error saying how to give it."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(
            f"{option} {value!r} is not a date", f"give it as YYYY-MM-DD, e.g. {option} 2026-06-30"
        ) from None


SALT_HINT = (
    "set RISKMART_PII_SALT to a long random secret (e.g. the output of"
    " `python -c 'import secrets; print(secrets.token_hex(32))'`) kept in your secret store, the same on every"
    " run: it keys every client's name and tax id hash"
)


def refuse_development_salt(settings: Settings) -> None:
    """A production dbt target with the development PII salt: the CLI's error, before anything runs."""
    from riskmart.dbt import DevelopmentSaltError, refuse_development_salt

    try:
        refuse_development_salt(settings)
    except DevelopmentSaltError as exc:
        raise fail(str(exc), SALT_HINT) from None


@app.command("demo-data")
def demo_data(
    landing: LandingOpt = None,
    truth: Annotated[
        Path | None, typer.Option(help="Ground-truth folder; default truth/ beside landing.")
    ] = None,
    clients: Annotated[int, typer.Option(min=1, help="Clients at the end of the period.")] = 2000,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 12,
    end_date: Annotated[
        str | None, typer.Option(help="Last export date, YYYY-MM-DD; default yesterday.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    dirty_rate: Annotated[
        float,
        typer.Option(min=0, max=0.5, help="Share of rows made dirty (every kind the contract rejects)."),
    ] = 0.0,
    shift_months: Annotated[
        int, typer.Option(min=0, help="Inject a distribution shift into the last N months (0 = none).")
    ] = 0,
    skip_if_present: Annotated[
        bool, typer.Option(help="Do nothing when the landing folder already holds files.")
    ] = False,
) -> None:
    """Write a deterministic demo export (landing layout of the data contract) and its ground truth."""
    from demo.generate import LandingNotEmptyError, generate_demo_data

    settings = get_settings(landing=landing, truth=truth)
    try:
        folder = settings.landing_path
    except SettingsError as exc:
        raise fail(str(exc), exc.hint) from None
    if skip_if_present and folder.exists() and any(folder.rglob("*.csv")):
        console.print(f"landing data present in {folder}: demo data not generated")
        return
    end = parse_date(end_date, "--end-date") or date.fromordinal(date.today().toordinal() - 1)
    try:
        with console.status("generating demo data"):
            summary = generate_demo_data(
                landing=folder,
                truth=settings.truth_dir,
                clients=clients,
                months=months,
                end_date=end,
                seed=seed,
                dirty_rate=dirty_rate,
                shift_months=shift_months,
            )
    except LandingNotEmptyError as exc:
        raise fail(str(exc), "delete the folder, pass another --landing, or add --skip-if-present") from None
    console.print(f"wrote demo export to {settings.landing} and ground truth to {settings.truth_dir}")
    console.print_json(json.dumps(summary, default=str))


@app.command("ingest")
def ingest(
    landing: LandingOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: Annotated[
        str | None, typer.Option(help="Load only files exported on or before this date (YYYY-MM-DD).")
    ] = None,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash",
            help="Read every landing file to hash it, not trusting the sizes and times the hash cache"
            " remembers (e.g. after a tool rewrote files keeping their size and modification time).",
        ),
    ] = False,
) -> None:
    """Validate new landing files with Great Expectations and load them into raw.* (idempotent)."""
    from ingest.loader import ingest_landing
    from riskmart.pipeline import ingest_destination

    settings = get_settings(landing=landing, warehouse=warehouse)
    require_landing(settings)
    cutoff = parse_date(as_of, "--as-of")
    with holding_warehouse(settings, "ingest", wait, wait_seconds):
        if rehash:
            settings.landing_hash_cache.unlink(missing_ok=True)
        result = ingest_landing(
            settings.landing,
            ingest_destination(settings),
            as_of=cutoff,
            hash_cache=settings.landing_hash_cache,
        )
    _print_ingest_summary(result.files)
    for path in result.replayed:
        console.print(
            f"[green]replayed[/] {path}: rows quarantined for an unknown client, whose client has arrived"
        )


def _print_ingest_summary(files: list[dict]) -> None:
    table = Table(title="ingest", show_lines=False)
    for col in ("table", "files", "rows_read", "rows_loaded", "rows_rejected", "files_rejected"):
        table.add_column(col, justify="right" if col != "table" else "left")
    by_table: dict[str, list[dict]] = {}
    for f in files:
        by_table.setdefault(f["table"] or "?", []).append(f)
    for name, rows in sorted(by_table.items()):
        table.add_row(
            name,
            str(len(rows)),
            str(sum(r["rows_read"] for r in rows)),
            str(sum(r["rows_loaded"] for r in rows)),
            str(sum(r["rows_rejected"] for r in rows)),
            str(sum(r["status"] == "rejected" for r in rows)),
        )
    console.print(table if files else "nothing new to load")
    for f in files:
        if f["status"] == "rejected":
            console.print(f"[yellow]rejected[/] {f['file']}: {f['message']}")


@app.command("ingest-log")
def ingest_log(
    warehouse: WarehouseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of objects.")] = False,
) -> None:
    """Show what ingest did per file: rows read, loaded, rejected, status."""
    from ingest.loader import read_ingest_log
    from riskmart.pipeline import ingest_destination

    settings = get_settings(warehouse=warehouse)
    if settings.engine == "duckdb" and not settings.warehouse.exists():
        raise fail(f"warehouse {settings.warehouse} does not exist", "run `riskmart ingest` first")
    rows = read_ingest_log(ingest_destination(settings))
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=1))
        return
    table = Table(title=f"ingest log ({len(rows)} files)")
    for col in ("file", "table", "rows_read", "rows_loaded", "rows_rejected", "status"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            *(str(r[c]) for c in ("file", "table", "rows_read", "rows_loaded", "rows_rejected", "status"))
        )
    Console().print(table)


class DailyBuild(StrEnum):
    features = "features"
    scores = "scores"


@app.command("build")
def build(
    warehouse: WarehouseOpt = None,
    select: Annotated[
        str | None, typer.Option(help="dbt selector, e.g. 'staging' or '+fct_client_features'.")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="dbt target: dev, ci or prod [env RISKMART_DBT_TARGET].")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Latest data date the models may use (YYYY-MM-DD); default the newest export."),
    ] = None,
    daily: Annotated[
        DailyBuild | None,
        typer.Option(
            help="Run one of the daily cycle's two builds instead, as `riskmart run` does (data tests, no unit"
            " tests): `features` (every model but the scored and monitoring marts) or `scores` (those, after"
            " `riskmart score`)."
        ),
    ] = None,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """`dbt build` (models, seeds, data and unit tests) on the configured warehouse."""
    from riskmart.dbt import DbtError, run_dbt
    from riskmart.pipeline import DAILY_FEATURE_BUILD, DAILY_SCORING_BUILD

    data_date = parse_date(as_of, "--as-of")
    if daily is not None and select:
        raise fail("--daily and --select cannot be combined", "give one of them")
    settings = get_settings(warehouse=warehouse, dbt_target=target)
    refuse_development_salt(settings)
    if daily is not None:
        args = list(DAILY_FEATURE_BUILD if daily is DailyBuild.features else DAILY_SCORING_BUILD)
    else:
        args = ["build"] + (["--select", select] if select else [])
    with holding_warehouse(settings, "build", wait, wait_seconds):
        try:
            run_dbt(settings, args, as_of=data_date)
        except DbtError as exc:
            raise dbt_failed(
                exc, "read the failing model or test above; `riskmart build --select <name>` reruns just it"
            ) from None


RegistryDirOpt = Annotated[
    Path | None, typer.Option("--registry-dir", help="Model artifacts folder \\[env RISKMART_REGISTRY_DIR].")
]


@app.command("train")
def train(
    warehouse: WarehouseOpt = None,
    registry_dir: RegistryDirOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Use only labels observable by this date (YYYY-MM-DD); default: all matured."),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Ground truth to compare the model with: the client_month_pd.csv of a demo export (or its"
            " folder); also RISKMART_TRUTH. Unset: no comparison."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    if_due: Annotated[
        bool,
        typer.Option(
            "--if-due",
            help="As the daily cycle: train only when due (no champion, or one RISKMART_RETRAIN_INTERVAL_DAYS"
            " older than --as-of, which it needs), and too little matured history is no error.",
        ),
    ] = False,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Train XGBoost out of time on marts.ml_training_set, register it, promote it if it beats the champion."""
    from dataclasses import asdict

    from ml.dataset import DatasetError, GroundTruthError, NotEnoughHistoryError
    from ml.features import FeatureError
    from ml.registry import ModelIntegrityError, RegistryError
    from ml.train import needs_training, train_model

    settings = get_settings(warehouse=warehouse, registry_dir=registry_dir, truth=truth)
    cutoff = parse_date(as_of, "--as-of")
    if if_due and cutoff is None:
        raise fail("--if-due needs --as-of", "give the data date, e.g. --if-due --as-of 2026-06-30")
    try:
        with holding_warehouse(settings, "train", wait, wait_seconds):
            if if_due and not needs_training(settings, cutoff):
                console.print(f"no training due as of {cutoff}: the champion is recent enough")
                return
            with console.status("training"):
                result = train_model(settings, as_of=cutoff, truth=settings.truth)
    except GroundTruthError as exc:
        raise fail(str(exc), exc.hint) from None
    except NotEnoughHistoryError as exc:
        if if_due:  # a normal state for a young lender, as in the daily cycle: the rules score alone
            console.print(f"[yellow]no model trained:[/] {exc}")
            return
        raise fail(str(exc), "ingest and build more months of history, then train again") from None
    except (DatasetError, FeatureError) as exc:
        raise fail(
            str(exc), "run `riskmart build` so the feature marts exist and match the contract"
        ) from None
    except ModelIntegrityError as exc:
        raise model_failed_checksum(exc, settings) from None
    except RegistryError as exc:
        raise fail(str(exc), f"inspect the registry folder {settings.registry_path}") from None
    if as_json:
        typer.echo(json.dumps(asdict(result), default=str, indent=1))
        return
    _print_train_result(result)


def _print_train_result(result) -> None:
    table = Table(
        title=f"model {result.model_version}: test dates {result.split['test']['start']} … "
        f"{result.split['test']['end']} ({result.split['test']['rows']} rows)"
    )
    for col in ("metric", "model", "rule score"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    baseline = result.baseline_metrics or {}
    for name in ("auc", "gini", "ks", "pr_auc", "brier", "ece", "calibration_slope", "calibration_intercept"):
        rule = baseline.get(name)
        table.add_row(name, f"{result.metrics[name]:.4f}", "n/a" if rule is None else f"{rule:.4f}")
    console.print(table)
    if result.truth:
        console.print(
            f"ground truth AUC {result.truth['truth_auc']:.4f} on {result.truth['n']} rows; the model reaches"
            f" {100 * result.truth['ratio']:.1f} % of it"
        )
    colour = "green" if result.promoted else "yellow"
    console.print(f"[{colour}]{result.status}[/]: {result.promotion_reason}")
    console.print(f"artifacts: {result.artifact_dir}")


@app.command("score")
def score(
    warehouse: WarehouseOpt = None,
    registry_dir: RegistryDirOpt = None,
    feature_date: Annotated[
        str | None,
        typer.Option("--date", help="Feature date to score (YYYY-MM-DD); default: the latest in the mart."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    if_champion: Annotated[
        bool,
        typer.Option(
            "--if-champion",
            help="As the daily cycle: before the first champion, score nothing and succeed (the rules score"
            " alone).",
        ),
    ] = False,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Score every client at one feature date with the champion into ml.ml_scores (re-scoring replaces)."""
    from dataclasses import asdict

    from ml.dataset import DatasetError, latest_feature_date
    from ml.features import FeatureError
    from ml.registry import ModelIntegrityError, RegistryError, champion_info
    from ml.score import ScoringError, score_date
    from ml.warehouse import open_warehouse

    settings = get_settings(warehouse=warehouse, registry_dir=registry_dir)
    day = parse_date(feature_date, "--date")
    try:
        with holding_warehouse(settings, "score", wait, wait_seconds):
            if if_champion and champion_info(settings) is None:
                console.print("no champion model yet: nothing scored, the rules score alone")
                return
            day = day or latest_feature_date(open_warehouse(settings))
            if day is None:
                raise ScoringError("marts.fct_client_features is empty")
            with console.status(f"scoring {day}"):
                result = score_date(settings, day)
    except (DatasetError, FeatureError) as exc:
        raise fail(str(exc), "rebuild the marts (`riskmart build`) or retrain on the current ones") from None
    except ScoringError as exc:
        raise fail(
            str(exc), "`riskmart train` makes a champion; `riskmart build` makes the date's features"
        ) from None
    except ModelIntegrityError as exc:
        raise model_failed_checksum(exc, settings) from None
    except RegistryError as exc:
        raise fail(
            str(exc), "retrain (`riskmart train`); a model whose files disagree is never used"
        ) from None
    if as_json:
        typer.echo(json.dumps(asdict(result), default=str, indent=1))
        return
    mean = "n/a" if result.mean_probability is None else f"{result.mean_probability:.4f}"
    console.print(
        f"scored {result.clients_scored} clients at {result.feature_date} with model {result.model_version}"
        f" (mean probability {mean}, {result.reason_rows} reason rows, {result.seconds:.2f} s);"
        f" {result.clients_in_default} clients already in default left to the rules"
    )


@app.command("publish")
def publish(
    warehouse: WarehouseOpt = None,
    registry_dir: RegistryDirOpt = None,
    publish_dir: Annotated[
        Path | None,
        typer.Option("--publish-dir", help="Folder of the published bundles \\[env RISKMART_PUBLISH_DIR]."),
    ] = None,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Publish a new bundle (scored mart, dashboard marts, seeds, the champion's card and files), what the API
    and the dashboard read, as the daily cycle does after its builds; the previous bundle stays until it is
    complete."""
    from ml.registry import ModelIntegrityError, champion_info
    from ml.warehouse import open_warehouse
    from riskmart.publish import PublishError, publish_bundle

    settings = get_settings(warehouse=warehouse, registry_dir=registry_dir, publish_dir=publish_dir)
    try:
        with holding_warehouse(settings, "publish", wait, wait_seconds):
            champion = champion_info(settings)
            result = publish_bundle(
                open_warehouse(settings),
                settings.publish_target,
                champion,
                registry_path=settings.registry_path,
                project_dir=settings.dbt_project_dir,
            )
    except PublishError as exc:
        raise fail(
            str(exc), "run the daily builds (`riskmart run`, or `riskmart build --daily scores`)"
        ) from None
    except ModelIntegrityError as exc:
        raise model_failed_checksum(exc, settings) from None
    console.print(
        f"published {result.path}: {result.rows} scores over {result.score_dates} dates, the latest"
        f" {result.latest_score_date}"
    )


@app.command("sync")
def sync(
    source: Annotated[
        str | None,
        typer.Option("--from", help="URL the bundles are published to \\[env RISKMART_PUBLISH_URL]."),
    ] = None,
    publish_dir: Annotated[
        Path | None,
        typer.Option("--to", help="Local folder the API and dashboard read \\[env RISKMART_PUBLISH_DIR]."),
    ] = None,
    keep: Annotated[
        int, typer.Option(min=1, help="Bundles kept in the local folder, the current one included.")
    ] = KEEP_BUNDLES,
) -> None:
    """Bring the bundle published to an object store (RISKMART_PUBLISH_URL, e.g. gs://bucket/prefix) into the
    local folder the API and the dashboard read: the bundle CURRENT names is downloaded and checked file by
    file against its manifest, and only then does the local CURRENT name it. Run it after each publish
    (e.g. every few minutes); it downloads nothing when the local folder already serves that bundle."""
    from bundle import BundleError
    from bundle.remote import is_remote, sync_bundle

    settings = get_settings(publish_url=source, publish_dir=publish_dir)
    if not settings.publish_url or not is_remote(settings.publish_url):
        raise fail(
            f"nothing to sync from: the publish URL is {settings.publish_url!r}, not an object store URL",
            "pass --from gs://bucket/prefix or set RISKMART_PUBLISH_URL to where `riskmart run` publishes",
        )
    try:
        name, downloaded = sync_bundle(settings.publish_url, settings.publish_path, keep=keep)
    except BundleError as exc:
        raise fail(str(exc), "publish again (`riskmart publish`), then sync") from None
    except OSError as exc:
        raise fail(
            f"could not read {settings.publish_url} or write {settings.publish_path}: {exc}",
            "check the URL, the credentials (gcloud auth application-default login, or the attached service"
            " account) and that the local folder is writable, then sync again",
            ExitCode.PATH,
        ) from None
    what = "downloaded" if downloaded else "already here"
    console.print(f"serving {settings.publish_path / name} ({what}) from {settings.publish_url}")


@app.command("run")
def run(
    landing: LandingOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: Annotated[str | None, typer.Option(help="Run the cycle as of this date (YYYY-MM-DD).")] = None,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """The daily cycle: ingest → dbt build (features) → train when due → score → dbt build (scores) → publish
    → maintain (retention and CHECKPOINT; RISKMART_MAINTAIN_AFTER_RUN=false skips it)."""
    from ml.registry import ModelIntegrityError
    from riskmart.dbt import DbtError
    from riskmart.pipeline import CycleError, run_daily_cycle

    settings = get_settings(landing=landing, warehouse=warehouse)
    cutoff = parse_date(as_of, "--as-of")
    refuse_development_salt(settings)
    try:
        with holding_warehouse(settings, "run", wait, wait_seconds):
            run_daily_cycle(settings, as_of=cutoff, console=console)
    except DbtError as exc:
        raise dbt_failed(
            exc, "read the failing model or test above; `riskmart build --select <name>` reruns it"
        ) from None
    except ModelIntegrityError as exc:
        raise model_failed_checksum(exc, settings) from None
    except CycleError as exc:
        raise fail(str(exc), exc.hint) from None


@app.command("backfill")
def backfill_days(
    start: Annotated[
        str | None, typer.Option("--from", help="First as-of date (YYYY-MM-DD); default the first export.")
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="Last as-of date (YYYY-MM-DD), inclusive; default the last export."),
    ] = None,
    landing: LandingOpt = None,
    warehouse: WarehouseOpt = None,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Run the daily cycle as of each export date in the landing folder (from --from to --to), oldest first.
    Days already done are skipped: after a crash, the same command resumes where it stopped."""
    from ml.registry import ModelIntegrityError
    from riskmart.dbt import DbtError
    from riskmart.pipeline import CycleError, backfill

    settings = get_settings(landing=landing, warehouse=warehouse)
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    refuse_development_salt(settings)
    if first and last and last < first:
        raise fail(f"--to {last} is before --from {first}", "swap them")
    require_landing(settings)
    try:
        with holding_warehouse(settings, "backfill", wait, wait_seconds):
            backfill(settings, start=first, end=last, console=console)
    except DbtError as exc:
        raise dbt_failed(
            exc, "fix the failing model or test, then rerun the same backfill: it resumes at the failed day"
        ) from None
    except ModelIntegrityError as exc:
        raise model_failed_checksum(exc, settings) from None
    except CycleError as exc:
        raise fail(str(exc), exc.hint) from None


@app.command("maintain")
def maintain(
    warehouse: WarehouseOpt = None,
    rewrite: Annotated[
        bool,
        typer.Option(
            "--rewrite",
            help="Also copy the whole database into a new file and swap it in, which gives the space retention"
            " freed back to the disk (DuckDB reuses free space but never shortens a file). Needs room for a"
            " second copy.",
        ),
    ] = False,
    wait: WaitOpt = False,
    wait_seconds: WaitSecondsOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Retention and compaction: prune the staged change log, keep full contributions for
    RISKMART_CONTRIBUTIONS_KEEP_DAYS score dates, CHECKPOINT the file (`riskmart run` ends with it)."""
    from riskmart.dbt import DbtError
    from riskmart.maintain import MaintainError, maintain_warehouse

    settings = get_settings(warehouse=warehouse)
    refuse_development_salt(settings)
    try:
        with holding_warehouse(settings, "maintain", wait, wait_seconds):
            result = maintain_warehouse(settings, rewrite=rewrite)
    except MaintainError as exc:
        raise fail(str(exc), exc.hint) from None
    except DbtError as exc:
        raise dbt_failed(
            exc, "read the failure above; nothing was deleted, rerun `riskmart maintain`"
        ) from None
    table = Table(title=f"riskmart maintain ({result.seconds:.1f} s)", show_header=False)
    table.add_column("what")
    table.add_column("done")
    for what, done in result.lines():
        table.add_row(what, done)
    console.print(table)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on; 0.0.0.0 for all.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="uvicorn worker processes (each loads the snapshot).")
    ] = 1,
) -> None:
    """Serve the score API (FastAPI, uvicorn) from the published snapshot (env RISKMART_PUBLISH_DIR, RISKMART_API_KEYS)."""
    import uvicorn

    from api.security import KeyRing

    settings = get_settings()
    try:
        keyring = KeyRing.from_settings(settings.api_keys, settings.api_revoked_keys)
    except ValueError as exc:
        raise fail(str(exc), "fix the entry, or give the key itself instead of its sha256") from None
    if not keyring.accepted:
        console.print("[yellow]warning:[/] RISKMART_API_KEYS is empty: every /v1 request will get 401")
    console.print(f"serving {settings.publish_path} on http://{host}:{port} (docs at /docs)")
    # No access log: the audit log and /metrics record every request at a fraction of its cost.
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, access_log=False)


@app.command("dashboard")
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on; 0.0.0.0 for all.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8501,
) -> None:
    """Serve the risk dashboard (Streamlit) from the published snapshot (env RISKMART_PUBLISH_DIR)."""
    from dashboard.server import run_dashboard

    settings = get_settings()
    console.print(f"dashboard of {settings.publish_path} on http://{host}:{port}")
    raise typer.Exit(run_dashboard(host, port, settings.publish_path))


if __name__ == "__main__":
    app()
