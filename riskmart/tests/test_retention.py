"""Retention and compaction (`riskmart maintain`, the last step of `riskmart run`) on real warehouses.

The staged change log: warehouse B is built up to t1, then an old payment is corrected and the export up
to t2 is ingested and staged, but the feature models are not built yet; maintenance prunes the log; the
incremental feature build that follows must equal a full build of the same files (warehouse A), so the
rows the feature models had not read survived. Full contributions: past the kept window they are NULL, and
the scored mart and the API still give every old score its top reasons.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest
from typer.testing import CliRunner

from api.tests.conftest import start_server, stop_server
from demo.generate import generate_demo_data
from ingest.loader import ingest_landing
from ml.registry import champion_info
from ml.score import score_date
from ml.warehouse import connect_warehouse
from riskmart.cli import app
from riskmart.dbt import run_dbt
from riskmart.maintain import maintain_warehouse
from riskmart.operations import ExitCode
from riskmart.pipeline import SCORING_SELECTOR
from riskmart.publish import publish_bundle
from riskmart.runlock import warehouse_lock
from riskmart.settings import Settings

pytestmark = pytest.mark.slow

END_DATE = date(2026, 6, 30)
FIRST_BUILD = date(2026, 6, 10)
SECOND_BUILD = date(2026, 6, 20)
# an export the first build loaded, re-delivered corrected before the second: only the change log tells
# the feature models which client's past dates to rebuild
CORRECTED_EXPORT = date(2026, 6, 8)
FEATURES = [
    "build",
    "--select",
    "+fct_client_features",
    "--resource-type",
    "model",
    "--resource-type",
    "seed",
]
# the scored mart and the views of the ML tables it reads (the monitoring marts are left as the demo built them)
SCORED_MART = ["run", "--select", *SCORING_SELECTOR.split()]
FEATURE_TABLES = ("marts.fct_client_features", "intermediate.int_client_payment_features")


def _correct_a_payment(landing: Path) -> dict:
    path = landing / "payments" / f"payments_{CORRECTED_EXPORT.isoformat()}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    row = next(r for r in rows if date.fromisoformat(r["payment_date"]) < CORRECTED_EXPORT)
    # ten times the amount, 40 days late; a later created_at wins over the copies in later exports
    row.update(
        payment_amount=f"{float(row['payment_amount']) * 10:.2f}",
        days_past_due="40",
        created_at=f"{CORRECTED_EXPORT} 23:59:59",
    )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return row


def _staged_changes(warehouse: Path) -> list[tuple]:
    with connect_warehouse(warehouse, read_only=True) as con:
        return con.execute(
            "select model_name, client_id, first_affected_date, ingested_through"
            " from riskmart_meta.staged_changes order by all"
        ).fetchall()


def _lowest_reader_watermark(warehouse: Path) -> object:
    with connect_warehouse(warehouse, read_only=True) as con:
        return con.execute(
            "select min(ingested_through) from (select ingested_through from riskmart_meta.build_settings"
            " where model_name like '%features%'"
            " qualify row_number() over (partition by model_name order by recorded_at desc) = 1)"
        ).fetchone()[0]


def _client_rows(warehouse: Path, client_id: str) -> list[tuple]:
    with connect_warehouse(warehouse, read_only=True) as con:
        return con.execute(
            "select * from marts.fct_client_features where client_id = ? order by feature_date", [client_id]
        ).fetchall()


@pytest.fixture(scope="module")
def pruned_then_built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("retention")
    landing = work / "landing"
    generate_demo_data(
        landing=landing,
        truth=work / "truth",
        clients=60,
        months=3,
        end_date=END_DATE,
        seed=5,
        dirty_rate=0.0,
        shift_months=0,
    )
    incremental = Settings(warehouse=work / "b" / "incremental.duckdb", landing=landing)
    full = Settings(warehouse=work / "a" / "full.duckdb", landing=landing)
    ingest_landing(landing, incremental.warehouse, as_of=FIRST_BUILD)
    run_dbt(incremental, FEATURES, as_of=FIRST_BUILD)

    corrected = _correct_a_payment(landing)
    ingest_landing(landing, incremental.warehouse, as_of=SECOND_BUILD)
    run_dbt(incremental, ["build", "--select", "staging", "--resource-type", "model"], as_of=SECOND_BUILD)
    before_prune = _staged_changes(incremental.warehouse)
    watermark = _lowest_reader_watermark(incremental.warehouse)
    stale_rows = _client_rows(incremental.warehouse, corrected["client_id"])
    first = maintain_warehouse(incremental)
    after_prune = _staged_changes(incremental.warehouse)

    run_dbt(incremental, FEATURES, as_of=SECOND_BUILD)
    # the full refresh: the same files, every model rebuilt from scratch
    full.warehouse.parent.mkdir()
    shutil.copy(incremental.warehouse, full.warehouse)
    run_dbt(full, [*FEATURES, "--full-refresh"], as_of=SECOND_BUILD)
    second = maintain_warehouse(incremental)
    return {
        "incremental": incremental,
        "full": full,
        "corrected": corrected,
        "before_prune": before_prune,
        "after_prune": after_prune,
        "watermark": watermark,
        "stale_rows": stale_rows,
        "first": first,
        "second": second,
    }


def test_pruning_deletes_exactly_the_rows_every_reader_has_consumed(pruned_then_built: dict) -> None:
    before, after, watermark = (pruned_then_built[k] for k in ("before_prune", "after_prune", "watermark"))
    consumed = [row for row in before if row[3] <= watermark]
    unread = [row for row in before if row[3] > watermark]
    assert consumed, "the first build's log rows (whole restage) should be consumed by every feature model"
    assert unread, "the staging build after the first feature build should log rows no model has read"
    assert after == unread
    assert pruned_then_built["first"].staged_changes_before == len(before)
    assert pruned_then_built["first"].staged_changes_after == len(unread)
    corrected = pruned_then_built["corrected"]
    assert any(
        row[1] == corrected["client_id"] and row[2] <= date.fromisoformat(corrected["payment_date"])
        for row in after
    ), "the corrected payment's client must still be in the log for the feature models to read"


def test_an_incremental_build_after_pruning_equals_a_full_build(pruned_then_built: dict) -> None:
    incremental, full = pruned_then_built["incremental"].warehouse, pruned_then_built["full"].warehouse
    client = pruned_then_built["corrected"]["client_id"]
    rebuilt = _client_rows(incremental, client)
    paid = date.fromisoformat(pruned_then_built["corrected"]["payment_date"])
    # the proof needs the correction to change features at dates the first build had already built
    assert {r for r in rebuilt if r[1] <= FIRST_BUILD} != {
        r for r in pruned_then_built["stale_rows"] if r[1] <= FIRST_BUILD
    }, f"the corrected payment of {paid} changed no feature of {client} up to {FIRST_BUILD}"
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as b (read_only)")
        con.execute(f"attach '{full}' as a (read_only)")
        for table in FEATURE_TABLES:
            rows = con.execute(f"select count(*) from a.{table}").fetchone()[0]  # noqa: S608 (constants)
            assert rows > 0
            for left, right in (("a", "b"), ("b", "a")):
                extra = con.execute(
                    f"select count(*) from (select * from {left}.{table} except all select * from {right}.{table})"  # noqa: S608
                ).fetchone()[0]
                assert extra == 0, f"{table}: {extra} of {rows} rows of {left} are not in {right}"


def test_after_every_reader_built_the_log_is_empty(pruned_then_built: dict) -> None:
    assert pruned_then_built["second"].staged_changes_after == 0
    assert _staged_changes(pruned_then_built["incremental"].warehouse) == []


def test_maintain_checkpoints_the_file(pruned_then_built: dict) -> None:
    result = pruned_then_built["second"]
    assert result.after.wal_bytes == 0
    assert result.after.file_bytes == pruned_then_built["incremental"].warehouse.stat().st_size


# ---- full contributions: kept for the newest days, top reasons for every day ----------------------------


def _copy_demo(demo_cycle, work: Path) -> Settings:
    shutil.copytree(demo_cycle.settings.warehouse.parent, work / "warehouse")
    return Settings(
        warehouse=work / "warehouse" / demo_cycle.settings.warehouse.name,
        landing=demo_cycle.landing,
        contributions_keep_days=2,
    )


def _scores_mart(warehouse: Path) -> list[tuple]:
    with connect_warehouse(warehouse, read_only=True) as con:
        return con.execute("select * from marts.fct_client_scores order by client_id, score_date").fetchall()


def test_old_scores_keep_their_top_reasons_in_the_mart_and_the_api(demo_cycle, tmp_path: Path) -> None:
    settings = _copy_demo(demo_cycle, tmp_path)
    old_days = [demo_cycle.as_of - timedelta(days=n) for n in (3, 2)]
    for day in old_days:
        score_date(settings, day)
    run_dbt(settings, SCORED_MART, as_of=demo_cycle.as_of, quiet=True)
    mart_before = _scores_mart(settings.warehouse)

    result = maintain_warehouse(settings)  # keeps the newest 2 score dates: as_of and as_of - 1 (unscored)
    with connect_warehouse(settings.warehouse, read_only=True) as con:
        kept = dict(
            con.execute(
                "select feature_date, count(contributions) from ml.ml_scores group by 1 order by 1"
            ).fetchall()
        )
        reasons = dict(
            con.execute("select feature_date, count(*) from ml.ml_score_reasons group by 1").fetchall()
        )
    assert result.contributions_kept_from == demo_cycle.as_of - timedelta(days=1)
    assert kept == {old_days[0]: 0, old_days[1]: 0, demo_cycle.as_of: kept[demo_cycle.as_of]}
    assert kept[demo_cycle.as_of] > 0, "the newest date keeps its full contributions"
    assert result.contributions_cleared > 0
    assert all(reasons[day] > 0 for day in old_days), "the top reasons of old dates are kept"

    run_dbt(settings, SCORED_MART, as_of=demo_cycle.as_of, quiet=True)
    mart_after = _scores_mart(settings.warehouse)
    assert mart_after == mart_before, "clearing contributions changed the scored mart"
    published = publish_bundle(
        settings.warehouse,
        settings.publish_path,
        champion_info(settings),
        registry_path=settings.registry_path,
    )
    assert published.score_dates >= 3

    columns = _mart_columns(settings.warehouse)
    by_key = {(row[0], row[1]): dict(zip(columns, row, strict=True)) for row in mart_before}
    model_scored = [
        row for row in by_key.values() if row["score_date"] == old_days[0] and row["scored_by"] == "model"
    ]
    assert len(model_scored) > 10
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server", settings.publish_path)
    try:
        with server.client() as api:
            for row in model_scored[:20]:
                got = api.get(
                    f"/v1/clients/{quote(row['client_id'], safe='')}/scores",
                    params={"from": old_days[0].isoformat(), "to": old_days[0].isoformat()},
                )
                assert got.status_code == 200, got.text
                (answer,) = got.json()["scores"]
                expected = [
                    (row[f"reason_{k}"], row[f"reason_{k}_points"]) for k in (1, 2, 3) if row[f"reason_{k}"]
                ]
                assert expected, f"{row['client_id']} has no model reason at {old_days[0]}"
                assert [(r["reason"], r["points"]) for r in answer["reasons"]] == expected
    finally:
        stop_server(server)


def _mart_columns(warehouse: Path) -> list[str]:
    with connect_warehouse(warehouse, read_only=True) as con:
        return [d[0] for d in con.execute("select * from marts.fct_client_scores limit 0").description]


# ---- the command ---------------------------------------------------------------------------------------


def test_the_daily_run_ends_with_maintenance(demo_cycle) -> None:
    assert "maintain" in demo_cycle.summary.seconds
    assert list(demo_cycle.summary.seconds)[-1] == "maintain"
    assert any(what == "staged change log" for what, _ in demo_cycle.summary.maintenance)


def test_maintain_refuses_a_missing_warehouse_and_a_busy_one(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = tmp_path / "nowhere" / "riskmart.duckdb"
    result = runner.invoke(app, ["maintain", "--warehouse", str(missing)])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "does not exist" in result.output and "what to do" in result.output

    warehouse = tmp_path / "riskmart.duckdb"
    duckdb.connect(str(warehouse)).close()
    with warehouse_lock(warehouse, "riskmart run", wait_seconds=0, notify=print):
        busy = runner.invoke(app, ["maintain", "--warehouse", str(warehouse)])
    assert busy.exit_code == ExitCode.BUSY, busy.output
    assert "holds the warehouse" in busy.output


def test_maintain_rewrite_keeps_every_table_and_returns_free_space(
    pruned_then_built: dict, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(pruned_then_built["incremental"].warehouse, copy)  # maintained after its last build

    def inventory() -> tuple:
        with connect_warehouse(copy, read_only=True) as con:
            tables = con.execute(
                "select schema_name, table_name, sql from duckdb_tables() where database_name = 'riskmart'"
                " order by all"
            ).fetchall()
            counts = [
                con.execute(f"select count(*) from {schema}.{name}").fetchone()[0]  # noqa: S608 (catalog names)
                for schema, name, _ in tables
            ]
            views = con.execute(
                "select schema_name, view_name, sql from duckdb_views() where database_name = 'riskmart'"
                " and not internal order by all"
            ).fetchall()
        return tables, counts, views

    with connect_warehouse(copy) as con:
        con.execute("delete from raw.payments where payment_id % 2 = 0")  # frees blocks inside the file
        con.execute("checkpoint")
    before = inventory()
    size_before = copy.stat().st_size
    result = CliRunner().invoke(app, ["maintain", "--warehouse", str(copy), "--rewrite"])
    assert result.exit_code == 0, result.output
    after = inventory()
    assert after == before
    assert copy.stat().st_size < size_before
    assert not list(tmp_path.glob("copy.duckdb.rewrite*"))
