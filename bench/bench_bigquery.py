"""BigQuery (issue 11): the dbt build on the local BigQuery emulator beside the DuckDB build of the same files,
and the bytes each daily model would scan on BigQuery, estimated from the partitions it reads.

    .venv/bin/python -m bench bigquery                                   # 200 clients x 12 months
    .venv/bin/python -m bench bigquery -- --clients 1000 --months 12

The emulator (bqemulator, riskmart/tests/bigquery_emulator.py) runs every query on an in-process DuckDB after
translating it: its time is a correctness harness's, not BigQuery's and not a speed claim. Steps: generate a
demo export; ingest it into DuckDB up to the day before its last day and copy the raw tables into the emulator
with CSV load jobs; `dbt build` (seeds, models, data tests; no unit tests) on each engine as of that day; then
the last day, ingested and copied, and the daily cycle's feature build (riskmart.pipeline.DAILY_FEATURE_BUILD)
on each. Each dbt command runs in a child process: its wall and CPU time, and the emulator process's CPU time
during it.

The bytes estimate reads the SQL dbt ran on the emulator for each model of the daily build (target/run/: the
temporary table and the MERGE, as on BigQuery) and, for every table it names, the sizes of the DuckDB build of
the same files (the suite proves the emulator's mart equal to it):
* columns: BigQuery bills the columns a query references; counted here as the table's columns whose names
  occur in the SQL (an over-estimate where a name occurs only for another table);
* bytes: BigQuery's logical sizes (STRING 2 + UTF-8 bytes, INT64/FLOAT64/DATE/TIMESTAMP 8, BOOL 1,
  NUMERIC 16, NULL 0);
* partitions: a table partitioned on BigQuery (the model's `partition_by`) is read whole unless the SQL
  compares its partition column with a constant (no column, no subquery on the other side), as BigQuery's
  pruning needs; then only the partitions where one of those comparisons holds are counted;
* billing: BigQuery bills at least 10 MB per table referenced per query (applied per statement file);
* scale: bytes grow in proportion to clients at the same months of history (the demo export's rows per client
  are stable), so the 20,000 and 1,000,000-client figures are this run's times clients / --clients.
Temporary tables (dbt's `__dbt_tmp`, holding only the new rows) are not in DuckDB and not counted.
Writes bench/results/bigquery.json; the work folder is removed unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import add_export_options, report_header, timed_process
from riskmart.pipeline import DAILY_FEATURE_BUILD
from riskmart.settings import PROJECT_DIR

RESULTS = Path(__file__).parent / "results" / "bigquery.json"
BIN = Path(sys.executable).parent
FULL_BUILD = ["build", "--exclude", "resource_type:unit_test"]
SCALES = (20_000, 1_000_000)
MIN_BILLED_PER_TABLE = 10 * 10**6  # BigQuery on-demand: at least 10 MB per table referenced per query
# BigQuery logical bytes of a non-NULL value of a DuckDB column type (STRING and JSON: their length + 2)
FIXED_BYTES = {"BOOLEAN": 1, "DECIMAL": 16}
COMPARISONS = ("EQ", "GT", "GTE", "LT", "LTE", "Between", "In")


def _dbt(args: list[str], target_path: Path) -> list[str]:
    return [
        str(BIN / "dbt"),
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR / "profiles"),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
    ]


def _emulator_cpu_seconds() -> float:
    """CPU seconds so far of this process's emulator child (riskmart.tests.bigquery_emulator)."""
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"bigquery_emulator" in cmdline:
            return (int(fields[11]) + int(fields[12])) / ticks
    raise RuntimeError("the emulator process is gone")


def _timed_dbt(label: str, args: list[str], target_path: Path, env: dict[str, str], emulator: bool) -> dict:
    before = _emulator_cpu_seconds() if emulator else 0.0
    step, _ = timed_process(label, _dbt(args, target_path), env)
    if emulator:
        step["emulator_cpu_seconds"] = round(_emulator_cpu_seconds() - before, 2)
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    step["nodes"] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        step["nodes"][kind] = step["nodes"].get(kind, 0) + 1
    step["not_successful"] = [
        r["unique_id"]
        for r in results
        if r["status"] not in ("success", "pass") and not r["unique_id"].startswith("exposure.")
    ]
    return step


def _column_bytes(column: str, data_type: str) -> str:
    """DuckDB SQL: BigQuery's logical bytes of one value of the column (NULL: 0)."""
    kind = data_type.split("(")[0].upper()
    quoted = f'"{column}"'
    if kind in ("VARCHAR", "JSON"):
        return f"coalesce(2 + strlen(cast({quoted} as varchar)), 0)"
    size = FIXED_BYTES.get(kind, 8)
    return f"case when {quoted} is null then 0 else {size} end"


def _statements(sql: str) -> list:
    """The SQL's statements parsed as BigQuery's (none when sqlglot cannot parse it: then nothing is pruned)."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        return [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except SqlglotError:
        return []


def _constant_predicates(sql: str, field: str) -> list[str]:
    """DuckDB SQL of every comparison in `sql` (BigQuery) between a column named `field` and constants: what
    BigQuery's partition pruning can use."""
    from sqlglot import exp

    predicates = []
    for statement in _statements(sql):
        for node in statement.find_all(exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In):
            sides = [v for v in node.args.values() if isinstance(v, exp.Expression)]
            sides += list(node.args.get("expressions") or [])
            columns = [s for s in sides if isinstance(s, exp.Column) and s.name == field]
            others = [s for s in sides if not (isinstance(s, exp.Column) and s.name == field)]
            if len(columns) != 1 or not others or any(o.find(exp.Column, exp.Select) for o in others):
                continue
            copy = node.copy()
            for column in copy.find_all(exp.Column):
                column.set("table", None)
            predicates.append(copy.sql(dialect="duckdb"))
    return predicates


# `project`.`dataset`.`table` or `project.dataset.table`, as dbt-bigquery quotes relations
QUOTED_RELATION = re.compile(r"`[\w-]+`\.`(\w+)`\.`(\w+)`|`[\w-]+\.(\w+)\.(\w+)`")


def _relations(sql: str) -> set[tuple[str, str]]:
    """(dataset, table) of every table the SQL names."""
    found = set()
    for match in QUOTED_RELATION.finditer(sql):
        dataset, table = (
            (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        )
        found.add((dataset, table))
    return found


def scan_estimate(run_dir: Path, manifest: dict, warehouse: Path, models: list[str]) -> dict:
    """The bytes each model's statements (target/run/) would scan on BigQuery, from the DuckDB warehouse's
    sizes (module docstring)."""
    import duckdb

    partition_of = {}
    for node in manifest["nodes"].values():
        partition = node.get("config", {}).get("partition_by")
        if partition:
            partition_of[(node["schema"], node["alias"])] = partition
    estimates = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns_of: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, data_type in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns"
            " order by table_schema, table_name, ordinal_position"
        ).fetchall():
            columns_of.setdefault((schema, table), []).append((column, data_type))
        for unique_id in models:
            node = manifest["nodes"][unique_id]
            path = run_dir / node["package_name"] / node["original_file_path"]
            if not path.exists():
                continue
            run_sql = path.read_text(encoding="utf-8")
            # an incremental model's run file holds the MERGE from dbt's temporary table; the query that fills
            # that table is the compiled model, a statement of its own
            statements = [("run", run_sql)]
            compiled = (node.get("compiled_code") or "").strip()
            if compiled and compiled[:500] not in run_sql:
                statements.append(("compiled", compiled))
            tables, full, billed = {}, 0, 0
            for kind, sql in statements:
                read, floor = _statement_estimate(con, sql, columns_of, partition_of, tables, kind)
                full += read
                billed += floor
            estimates[node["name"]] = {"bytes": full, "billed_bytes_at_least": billed, "tables": tables}
    return estimates


def _statement_estimate(con, sql, columns_of, partition_of, tables, kind) -> tuple[int, int]:
    """Bytes one statement would scan, and at least billed; each table it reads added to `tables`."""
    import duckdb

    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
    full = billed = 0
    for relation in sorted(_relations(sql)):
        if relation not in columns_of:
            continue  # a temporary table (module docstring)
        used = [(c, t) for c, t in columns_of[relation] if c in words]
        if not used:
            continue
        value = " + ".join(_column_bytes(c, t) for c, t in used)
        schema, table = relation
        partition = partition_of.get(relation)
        predicates = _constant_predicates(sql, partition["field"]) if partition else []
        unpruned = f'select coalesce(sum({value}), 0), coalesce(sum({value}), 0) from "{schema}"."{table}"'  # noqa: S608
        query = unpruned
        if predicates:
            unit = partition.get("granularity", "day")
            hit = " or ".join(f"({p})" for p in predicates)
            # names from the catalog, predicates from dbt's SQL
            part = f"date_trunc('{unit}', \"{partition['field']}\")"
            query = " ".join(
                [
                    f"with parts as (select {part} as part, bool_or({hit}) as read,",
                    f'sum({value}) as bytes from "{schema}"."{table}" group by 1)',
                    "select coalesce(sum(bytes) filter (where read), 0), coalesce(sum(bytes), 0) from parts",
                ]
            )
        try:
            read, whole = (int(v) for v in con.execute(query).fetchone())
        except duckdb.Error:  # a predicate DuckDB cannot evaluate: counted as no pruning
            predicates = []
            read, whole = (int(v) for v in con.execute(unpruned).fetchone())
        tables[f"{kind}: {schema}.{table}"] = {
            "columns": len(used),
            "bytes": read,
            "bytes_whole_table": whole,
            "pruned_on": partition["field"] if predicates else None,
        }
        full += read
        billed += max(read, MIN_BILLED_PER_TABLE)
    return full, billed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_export_options(parser)
    parser.set_defaults(clients=200, months=12)
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    parser.add_argument(
        "--estimate-from",
        type=Path,
        help="Only redo the bytes estimate from a work folder kept by --keep, into the last results file.",
    )
    args = parser.parse_args()
    if args.estimate_from:
        report = json.loads(RESULTS.read_text())
        clients = int(report["size"].split()[0])
        _estimate(args.estimate_from, args.estimate_from / "duckdb" / "riskmart.duckdb", report, clients)
        RESULTS.write_text(json.dumps(report, indent=1, default=str))
        _print_report(report, clients)
        return

    from demo.generate import generate_demo_data
    from ingest.loader import ingest_landing
    from riskmart.tests.bigquery_emulator import copy_schema, running_emulator

    work = Path(tempfile.mkdtemp(prefix="bench_bigquery_")).resolve()
    landing, duck = work / "landing", work / "duckdb" / "riskmart.duckdb"
    day_before = args.end_date - timedelta(days=1)
    report: dict = {**report_header(args), "steps": {}}
    steps = report["steps"]
    try:
        started = time.perf_counter()
        generate_demo_data(
            landing=landing,
            truth=work / "truth",
            clients=args.clients,
            months=args.months,
            end_date=args.end_date,
            seed=7,
            dirty_rate=0.0,
            shift_months=0,
        )
        print(f"generated the export in {time.perf_counter() - started:.1f} s", flush=True)
        with running_emulator(work / "emulator.log") as emulator:
            duck_env = {"RISKMART_WAREHOUSE": str(duck), "RISKMART_DBT_TARGET": "dev"}
            emu_env = {**emulator.dbt_env(), "RISKMART_DBT_TARGET": "emulator"}
            for day, label, build in (
                (day_before, "full", FULL_BUILD),
                (args.end_date, "daily", DAILY_FEATURE_BUILD),
            ):
                ingest_landing(landing, duck, as_of=day)
                started = time.perf_counter()
                copy_schema(duck, "raw", emulator, work)
                steps[f"copy_raw_{label}"] = {"seconds": round(time.perf_counter() - started, 2)}
                as_of = {"RISKMART_AS_OF_DATE": day.isoformat()}
                steps[f"emulator_{label}"] = _timed_dbt(
                    f"emulator: dbt {label} build", build, work / "emulator_dbt", {**emu_env, **as_of}, True
                )
                steps[f"duckdb_{label}"] = _timed_dbt(
                    f"DuckDB: dbt {label} build", build, work / "duckdb_dbt", {**duck_env, **as_of}, False
                )
            # the datasets the build created: what a lender creates beforehand (README, "Running on BigQuery")
            report["emulator_datasets"] = sorted(d.dataset_id for d in emulator.client().list_datasets())
        report["load_average_after"] = os.getloadavg()

        _estimate(work, duck, report, args.clients)
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=1, default=str))
        _print_report(report, args.clients)
        print(f"results in {RESULTS}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


def _estimate(work: Path, duck: Path, report: dict, clients: int) -> None:
    """The bytes estimate of the daily build (module docstring) and the DuckDB tables' sizes, into `report`."""
    import duckdb

    manifest = json.loads((work / "emulator_dbt" / "manifest.json").read_text())
    results = json.loads((work / "emulator_dbt" / "run_results.json").read_text())["results"]
    daily_models = [r["unique_id"] for r in results if r["unique_id"].startswith("model.")]
    estimates = scan_estimate(work / "emulator_dbt" / "run", manifest, duck, daily_models)
    total = sum(e["bytes"] for e in estimates.values())
    billed = sum(e["billed_bytes_at_least"] for e in estimates.values())
    report["daily_scan_estimate"] = {
        "models": estimates,
        "total_bytes": total,
        "billed_bytes_at_least": billed,
        "scaled": {
            str(n): {
                "total_bytes": round(total * n / clients),
                "billed_bytes_at_least": round(
                    sum(
                        max(t["bytes"] * n / clients, MIN_BILLED_PER_TABLE)
                        for e in estimates.values()
                        for t in e["tables"].values()
                    )
                ),
            }
            for n in SCALES
        },
    }
    with duckdb.connect(str(duck), read_only=True) as con:
        report["duckdb_tables"] = table_sizes(con)


def table_sizes(con) -> dict[str, dict[str, int]]:
    """Rows and BigQuery logical bytes of every table of the DuckDB warehouse (for the README's cost notes)."""
    sizes = {}
    columns_of: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c"
        " join information_schema.tables t using (table_catalog, table_schema, table_name)"
        " where t.table_type = 'BASE TABLE' order by 1, 2, c.ordinal_position"
    ).fetchall():
        columns_of.setdefault((schema, table), []).append((column, data_type))
    for (schema, table), columns in columns_of.items():
        value = " + ".join(_column_bytes(c, t) for c, t in columns)
        rows, size = con.execute(
            f'select count(*), coalesce(sum({value}), 0) from "{schema}"."{table}"'  # noqa: S608 (catalog names)
        ).fetchone()
        sizes[f"{schema}.{table}"] = {"rows": int(rows), "bytes": int(size)}
    return sizes


def _print_report(report: dict, clients: int) -> None:
    steps = report["steps"]
    print(f"{'build':<8}{'engine':<10}{'wall s':>9}{'dbt CPU s':>11}{'emulator CPU s':>16}  nodes")
    for label in ("full", "daily"):
        for engine in ("emulator", "duckdb"):
            step = steps[f"{engine}_{label}"]
            print(
                f"{label:<8}{engine:<10}{step['seconds']:>9.1f}{step['cpu_seconds']:>11.1f}"
                f"{step.get('emulator_cpu_seconds', 0):>16.1f}  {step['nodes']}"
                + (f" NOT SUCCESSFUL: {step['not_successful']}" if step["not_successful"] else "")
            )
    estimate = report["daily_scan_estimate"]
    print(f"daily build, bytes each model would scan on BigQuery ({clients} clients):")
    for name, model in sorted(estimate["models"].items(), key=lambda kv: -kv[1]["bytes"]):
        pruned = [t for t, v in model["tables"].items() if v["pruned_on"]]
        print(f"  {name:<45}{model['bytes'] / 2**20:>10.2f} MiB" + (f"  pruned: {pruned}" if pruned else ""))
    print(f"  total {estimate['total_bytes'] / 2**20:.2f} MiB; scaled: {json.dumps(estimate['scaled'])}")
