"""dbt's parse state is kept for every warehouse of a checkout (riskmart.dbt.parse_cache_file): a new
warehouse's first dbt command starts from it instead of parsing the whole project."""

from __future__ import annotations

from pathlib import Path

from riskmart.dbt import PARSE_STATE, dbt_process_env, parse_cache_file, run_dbt
from riskmart.settings import Settings


def _parse_log(warehouse: Path) -> str:
    return (warehouse.parent / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace")


def test_a_new_warehouse_starts_from_the_parse_state_another_one_left(tmp_path):
    cache = tmp_path / "cache"
    first = Settings(warehouse=tmp_path / "one" / "riskmart.duckdb", dbt_parse_cache=cache)
    second = Settings(warehouse=tmp_path / "two" / "elsewhere" / "riskmart.duckdb", dbt_parse_cache=cache)

    run_dbt(first, ["parse"], quiet=True)
    assert "Starting full parse" in _parse_log(first.warehouse), "no state yet: dbt parses the project"
    env, folder = dbt_process_env(first)
    assert folder == first.warehouse.parent and env["RISKMART_WAREHOUSE"] == "riskmart.duckdb"
    kept = parse_cache_file(first, env)
    assert kept is not None and kept.is_file() and kept.parent.parent == cache
    other_profile = parse_cache_file(first, {**env, "RISKMART_WAREHOUSE": "ml.duckdb"})
    assert other_profile is not None and other_profile != kept, "another profile keeps a state of its own"

    run_dbt(second, ["parse"], quiet=True)
    log = _parse_log(second.warehouse)
    assert "Unable to do partial parsing" not in log and "Starting full parse" not in log, log[-2000:]
    assert (second.warehouse.parent / "dbt" / "target" / PARSE_STATE).is_file()


def test_the_warehouse_reaches_dbt_by_name_from_its_own_folder(tmp_path):
    """dbt sees the warehouse relative to its folder (so the profile reads the same for every folder): the
    tables land in the configured file, and the caller's working directory is given back."""
    import duckdb

    cwd = Path.cwd()
    settings = Settings(warehouse=tmp_path / "deep" / "w.duckdb", dbt_parse_cache=None)
    run_dbt(settings, ["seed", "--select", "risk_policy"], quiet=True)
    assert Path.cwd() == cwd
    assert not (cwd / "w.duckdb").exists()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from seeds.risk_policy").fetchone()[0] > 0
