"""The `riskmart` command: thin verbs that parse options and call library functions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from riskmart.settings import get_settings

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
LandingOpt = Annotated[Path | None, typer.Option("--landing", help="Landing folder [env RISKMART_LANDING].")]


def fail(message: str, hint: str) -> typer.Exit:
    """Print what was wrong and what to do, and give the exit to raise."""
    console.print(f"[bold red]error:[/] {message}\n[bold]what to do:[/] {hint}")
    return typer.Exit(code=2)


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
    from ingest.demo_data import generate_demo_data

    settings = get_settings(landing=landing, truth=truth)
    if skip_if_present and settings.landing.exists() and any(settings.landing.rglob("*.csv")):
        console.print(f"landing data present in {settings.landing}: demo data not generated")
        return
    try:
        end = date.fromisoformat(end_date) if end_date else date.fromordinal(date.today().toordinal() - 1)
    except ValueError:
        raise fail(
            f"--end-date {end_date!r} is not a date", "give it as YYYY-MM-DD, e.g. --end-date 2026-06-30"
        ) from None
    with console.status("generating demo data"):
        summary = generate_demo_data(
            landing=settings.landing,
            truth=settings.truth_dir,
            clients=clients,
            months=months,
            end_date=end,
            seed=seed,
            dirty_rate=dirty_rate,
            shift_months=shift_months,
        )
    console.print(f"wrote demo export to {settings.landing} and ground truth to {settings.truth_dir}")
    console.print_json(json.dumps(summary, default=str))


@app.command("ingest")
def ingest(
    landing: LandingOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: Annotated[
        str | None, typer.Option(help="Load only files exported on or before this date (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Validate new landing files with Great Expectations and load them into raw.* (idempotent)."""
    from ingest.loader import ingest_landing

    settings = get_settings(landing=landing, warehouse=warehouse)
    if not settings.landing.is_dir():
        raise fail(
            f"landing folder {settings.landing} does not exist",
            "point --landing (or RISKMART_LANDING) at an export, or create one with `riskmart demo-data`",
        )
    try:
        cutoff = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise fail(f"--as-of {as_of!r} is not a date", "give it as YYYY-MM-DD") from None
    result = ingest_landing(settings.landing, settings.warehouse, as_of=cutoff)
    _print_ingest_summary(result.files)


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

    settings = get_settings(warehouse=warehouse)
    if not settings.warehouse.exists():
        raise fail(f"warehouse {settings.warehouse} does not exist", "run `riskmart ingest` first")
    rows = read_ingest_log(settings.warehouse)
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


@app.command("build")
def build(
    warehouse: WarehouseOpt = None,
    select: Annotated[
        str | None, typer.Option(help="dbt selector, e.g. 'staging' or '+fct_client_features'.")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="dbt target: dev, ci or prod [env RISKMART_DBT_TARGET].")
    ] = None,
) -> None:
    """`dbt build` (models, seeds, tests) on the configured warehouse."""
    from riskmart.dbt import DbtError, run_dbt

    settings = get_settings(warehouse=warehouse, dbt_target=target)
    args = ["build"] + (["--select", select] if select else [])
    try:
        run_dbt(settings, args)
    except DbtError as exc:
        raise fail(
            str(exc), "read the failing model or test above; `dbt build --select <name>` reruns just it"
        ) from None


@app.command("run")
def run(
    landing: LandingOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: Annotated[str | None, typer.Option(help="Run the cycle as of this date (YYYY-MM-DD).")] = None,
) -> None:
    """The daily cycle: ingest the new landing files, then dbt build."""
    from riskmart.pipeline import run_daily_cycle

    settings = get_settings(landing=landing, warehouse=warehouse)
    try:
        cutoff = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise fail(f"--as-of {as_of!r} is not a date", "give it as YYYY-MM-DD") from None
    run_daily_cycle(settings, as_of=cutoff, console=console)


if __name__ == "__main__":
    app()
