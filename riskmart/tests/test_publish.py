"""The publisher through the warehouse interface (ml.warehouse.Warehouse.read_arrow, Parquet by pyarrow): to
an fsspec URL in the layout of a local folder, and, for an engine other than DuckDB, the applicant tables
rendered as the DuckDB build renders them. The BigQuery end of both is in test_bigquery_emulator.py."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from api.tests.snapshots import build_published_snapshot, model_card, seeded_warehouse, synthetic_scores
from bundle import current_bundle, open_bundle
from ml.warehouse import DuckDBWarehouse
from riskmart.cli import app
from riskmart.operations import ExitCode
from riskmart.publish import (
    APPLICANT_TABLES,
    SEEDS_SCHEMA,
    project_seeds,
    render_applicant_tables,
    same_rows,
)
from riskmart.settings import PROJECT_DIR


def _files(bundle) -> dict[str, str]:
    return {relative: entry["sha256"] for relative, entry in bundle.files.items()}


def test_a_bundle_published_to_an_fsspec_url_is_the_local_bundle(tmp_path: Path) -> None:
    """The same warehouse published to a folder and to memory:// (fsspec's in-memory filesystem; gs:// takes
    the same path through gcsfs: test_bigquery_emulator.py runs it on a GCS emulator): `riskmart sync` brings
    the uploaded bundle into a local folder whole, file for file the local one, and a second sync finds it
    there."""
    scores = synthetic_scores(30, 3)
    local = build_published_snapshot(tmp_path / "published", scores, model_card(), tmp_path)
    url = f"memory://riskmart-{uuid.uuid4().hex}/published"
    remote = build_published_snapshot(url, scores, model_card(), tmp_path)
    assert isinstance(remote.path, str) and remote.path.startswith(f"{url}/bundle-")
    assert (remote.rows, remote.score_dates, remote.latest_score_date) == (
        local.rows,
        local.score_dates,
        local.latest_score_date,
    )
    fs, root = fsspec.core.url_to_fs(url)
    name = fs.cat_file(f"{root}/CURRENT").decode().strip()
    assert remote.path == f"{url}/{name}"
    served = tmp_path / "served"
    for what in ("downloaded", "already here"):
        result = CliRunner().invoke(app, ["sync", "--from", url, "--to", str(served)])
        assert result.exit_code == 0 and f"({what})" in result.output, result.output
    downloaded = current_bundle(served)  # every file checked against the manifest
    assert downloaded.name == name and _files(downloaded) == _files(open_bundle(local.path))
    assert downloaded.manifest["tables"] == open_bundle(local.path).manifest["tables"]


def test_sync_without_an_object_store_url_says_what_to_set(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RISKMART_PUBLISH_URL", raising=False)
    result = CliRunner().invoke(app, ["sync", "--to", str(tmp_path / "served")])
    output = " ".join(result.output.split())
    assert result.exit_code == ExitCode.USAGE and "nothing to sync from" in output, output
    assert "what to do: pass --from gs://bucket/prefix or set RISKMART_PUBLISH_URL" in output
    result = CliRunner().invoke(
        app, ["sync", "--from", f"memory://empty-{uuid.uuid4().hex}", "--to", str(tmp_path)]
    )
    assert result.exit_code == ExitCode.USAGE and "nothing was published there yet" in result.output


@pytest.mark.slow
def test_the_applicant_tables_rendered_for_another_engine_are_the_duckdb_build() -> None:
    """render_applicant_tables (what a BigQuery publish bundles) equals the DuckDB build's applicant tables."""
    built = DuckDBWarehouse(seeded_warehouse())  # dbt seed + the applicant models, on DuckDB
    seeds = {
        name: built.read_arrow(f"select * from {SEEDS_SCHEMA}.{name}") for name in project_seeds(PROJECT_DIR)
    }
    rendered = render_applicant_tables(seeds)
    for table in APPLICANT_TABLES:
        expected = built.read_arrow(f"select * from {table.relation} order by {table.order_by}")
        assert rendered[table.name].equals(expected), table.name


def test_seeds_are_thesame_rows_in_any_order_and_integer_width() -> None:
    """What render_applicant_tables holds the warehouse's seeds to (it refuses seeds that are not the
    project's, whose rule components the query is rendered from): BigQuery's INT64 equals DuckDB's
    INTEGER with the same numbers, rows in any order; a changed value or column differs."""
    duck = pa.table({"component": ["b", "a"], "weight": [0.25, 0.5], "cap": pa.array([3, None], pa.int32())})
    bigquery = pa.table(
        {"component": ["a", "b"], "weight": [0.5, 0.25], "cap": pa.array([None, 3], pa.int64())}
    )
    assert same_rows(duck, bigquery)
    assert not same_rows(duck, bigquery.set_column(1, "weight", pa.array([0.5, 0.5])))
    assert not same_rows(duck, bigquery.rename_columns(["component", "weight", "limit"]))
    assert not same_rows(duck, bigquery.slice(0, 1))
