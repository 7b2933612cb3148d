"""What the monitoring models (models/intermediate/monitoring, models/marts/monitoring) add to the daily build.

    .venv/bin/python -m bench monitoring -- --warehouse path/to/riskmart.duckdb --as-of 2026-06-30
    .venv/bin/python -m bench monitoring -- --warehouse … --as-of … --before <git revision> --rounds 2

Takes a warehouse the daily cycle built as of --as-of (a champion, its baseline and scores), copies it, and
runs on the copy, with `--threads 1` so each node's own time from run_results.json adds up, the daily cycle's
two builds of the day again (what a re-run of the day does; a new day's feature build also reads its new
deliveries): the feature build (riskmart/pipeline.py DAILY_FEATURE_BUILD: every model but the scoring and
monitoring ones, with their data tests) and then the monitoring part of the scoring build (`dbt build
--select MONITORING_SELECTOR`, models and data tests). Reported for each: the models' and the tests' own
time, the dbt process's wall and CPU seconds, the monitoring over feature ratios, each monitoring model's own
time and the feature build's slowest models.

A re-run of the day finds nothing new for the parts that are incremental by what changed (the matured
cohorts of mon_model_performance and mon_model_calibration). With --next-day LANDING the warehouse is one
built as of the day before --as-of, and each round is that next day as the cycle runs it, on a fresh copy:
`ingest_landing` of the day's files from LANDING, the feature build, `score_date` of the day (the registry
beside the warehouse), and the scoring build (DAILY_SCORING_BUILD), whose monitoring nodes (models under
models/*/monitoring and their data tests, from the manifest) are reported apart; ingest and scoring are not
timed. Each side first settles its copy with one monitoring build of the warehouse's own day, so a round
starts from that side's steady state.

With --before REV, the same is measured on a second copy with the project as of that git revision of this
repository (its models, macros and seeds: what the change is measured against), the two alternating round
by round, so both see the same machine load. With --full-refresh, a `dbt run --full-refresh` of the whole
project first, split the same way. Writes bench/results/monitoring.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.bench_features import BIN
from ingest.loader import ingest_landing
from ml.score import score_date
from riskmart.pipeline import (
    DAILY_BUILD,
    DAILY_FEATURE_BUILD,
    DAILY_SCORING_BUILD,
    MONITORING_SELECTOR,
    SCORING_SELECTOR,
)
from riskmart.settings import PROJECT_DIR, Settings

RESULTS = Path(__file__).parent / "results" / "monitoring.json"
MONITORING_BUILD = [*DAILY_BUILD, "--select", MONITORING_SELECTOR]
# the feature build's slowest models reported in each round
FEATURE_MODELS_SHOWN = 8


def _dbt(
    args: list[str], project: Path, warehouse: Path, target: Path, as_of: date, threads: int | None = 1
) -> dict:
    """One dbt command (one thread; `threads` None: the profile's, as the cycle runs it) on `warehouse` with
    the project in `project`: wall and CPU seconds of the process, and its nodes' own times from
    run_results.json."""
    env = {**os.environ, "RISKMART_WAREHOUSE": str(warehouse), "RISKMART_AS_OF_DATE": as_of.isoformat()}
    command = [
        str(BIN / "dbt"),
        *args,
        *(["--threads", str(threads)] if threads else []),
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project / "profiles"),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    target.mkdir(parents=True, exist_ok=True)
    log = (target / "dbt.out").open("w+b")
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    main_thread = 0.0
    while True:  # the main thread's CPU, sampled until the process ends (wait4 then reaps it)
        sample = _main_thread_cpu_seconds(process.pid)
        if sample is None or os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            break
        main_thread = sample
        time.sleep(0.05)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    log.seek(0)
    output = log.read().decode(errors="replace")
    log.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed in {project}:\n{output[-4000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall": wall, "cpu": cpu, "node_cpu": cpu - main_thread, "results": results}


def _main_thread_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process's main thread, or None once it is gone. dbt parses the project
    and plans there; its worker thread (one with --threads 1) and DuckDB's threads run the nodes, so the
    process's CPU less this is what the nodes cost, without dbt's start-up."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _is_monitoring(unique_id: str) -> bool:
    name = unique_id.rsplit(".", 1)[1]
    return name.startswith(("mon_", "int_mon_"))


def _own_seconds(results: list[dict], kind: str) -> float:
    return sum(r["execution_time"] for r in results if r["unique_id"].startswith(f"{kind}."))


def _split(results: list[dict]) -> dict:
    models = [r for r in results if r["unique_id"].startswith("model.")]
    monitoring = [r for r in models if _is_monitoring(r["unique_id"])]
    rest = [r for r in models if not _is_monitoring(r["unique_id"])]
    return {
        "monitoring_models_seconds": round(sum(r["execution_time"] for r in monitoring), 2),
        "other_models_seconds": round(sum(r["execution_time"] for r in rest), 2),
    }


def _project_at(revision: str, into: Path) -> Path:
    """The dbt project (dbt_project.yml, profiles, models, macros, seeds, tests) as of a git revision."""
    archive = subprocess.run(
        [
            "git",
            "archive",
            "--format=tar",
            revision,
            "dbt_project.yml",
            "profiles",
            "models",
            "macros",
            "seeds",
            "tests",
        ],
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
    ).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _monitoring_nodes(target: Path) -> set[str]:
    """The monitoring models of the manifest dbt wrote to `target`, and the data tests attached to them."""
    manifest = json.loads((target / "manifest.json").read_text())
    models = {
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and "/monitoring/" in node["original_file_path"]
    }
    tests = {
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "test" and node.get("attached_node") in models
    }
    return models | tests


def _one_day(project: Path, warehouse: Path, work: Path, as_of: date) -> dict:
    """The feature build, then the monitoring build, of the day again on `warehouse`."""
    features = _dbt(DAILY_FEATURE_BUILD, project, warehouse, work / "features", as_of)
    monitoring = _dbt(MONITORING_BUILD, project, warehouse, work / "monitoring", as_of)
    return _round(features, monitoring)


def _prepare_day(
    project: Path,
    base: Path,
    warehouse: Path,
    work: Path,
    as_of: date,
    landing: Path,
    registry: Path,
    threads: int | None = 1,
) -> dict:
    """`base` (a warehouse as of the day before `as_of`, its models in `registry`) copied to `warehouse` and
    taken through the cycle's steps before the scoring build: ingest of the day, the feature build (what is
    returned: `_dbt`'s figures), scoring."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(base, warehouse)
    ingest_landing(landing, warehouse, as_of=as_of)
    features = _dbt(DAILY_FEATURE_BUILD, project, warehouse, work / "features", as_of, threads=threads)
    score_date(Settings(warehouse=warehouse, registry_dir=registry), as_of)
    return features


def _next_day(project: Path, base: Path, work: Path, as_of: date, landing: Path, registry: Path) -> dict:
    """The day `as_of` as the cycle runs it on a fresh copy of `base` (a warehouse as of the day before, its
    models in `registry`): ingest (not timed), the feature build, scoring (not timed), the scoring build."""
    warehouse = work / "day" / "riskmart.duckdb"
    features = _prepare_day(project, base, warehouse, work, as_of, landing, registry)
    scoring = _dbt(DAILY_SCORING_BUILD, project, warehouse, work / "scoring", as_of)
    monitoring_ids = _monitoring_nodes(work / "scoring")
    monitoring = {**scoring, "results": [r for r in scoring["results"] if r["unique_id"] in monitoring_ids]}
    return _round(features, monitoring, whole_build=True)


def _added_wall(
    project: Path, base: Path, work: Path, as_of: date, landing: Path, registry: Path, rounds: int
):
    """What the monitoring models add to the scoring build's wall time as the cycle runs it (the profile's
    threads): the day prepared once (ingest, feature build, scoring) on a copy of `base`, then, alternating
    on fresh copies of that, the scoring build without the monitoring models and with them."""
    ready = work / "ready" / "riskmart.duckdb"
    _prepare_day(project, base, ready, work / "ready", as_of, landing, registry, threads=None)
    builds = {
        "scoring build without monitoring": [*DAILY_BUILD, "--select", SCORING_SELECTOR],
        "scoring build (with monitoring)": DAILY_SCORING_BUILD,
    }
    walls: dict[str, list[float]] = {name: [] for name in builds}
    for _ in range(rounds):
        for name, args in builds.items():
            warehouse = work / "build" / "riskmart.duckdb"
            warehouse.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ready, warehouse)
            walls[name].append(
                round(_dbt(args, project, warehouse, work / "build", as_of, threads=None)["wall"], 2)
            )
            print(name, walls[name][-1], flush=True)
    medians = {name: statistics.median(w) for name, w in walls.items()}
    return {
        "walls": walls,
        "medians": medians,
        "added_seconds": round(
            medians["scoring build (with monitoring)"] - medians["scoring build without monitoring"], 2
        ),
    }


def _by_model(results: list[dict]) -> dict[str, float]:
    """Each model's own seconds (run_results.json), the slowest first."""
    seconds = {
        r["unique_id"].rsplit(".", 1)[1]: round(r["execution_time"], 3)
        for r in results
        if r["unique_id"].startswith("model.")
    }
    return dict(sorted(seconds.items(), key=lambda item: -item[1]))


def _round(features: dict, monitoring: dict, whole_build: bool = False) -> dict:
    """One round's figures; with `whole_build`, the monitoring results are those of the scoring build, whose
    wall and CPU seconds (and so the CPU ratios) are the whole build's."""
    by_model = _by_model(monitoring["results"])
    slowest_features = dict(list(_by_model(features["results"]).items())[:FEATURE_MODELS_SHOWN])
    round_ = {
        "feature_build": {
            "wall_seconds": round(features["wall"], 2),
            "cpu_seconds": round(features["cpu"], 2),
            "node_cpu_seconds": round(features["node_cpu"], 2),
            "models_seconds": round(_own_seconds(features["results"], "model"), 2),
            "tests_seconds": round(_own_seconds(features["results"], "test"), 2),
            "slowest_models": slowest_features,
        },
        "monitoring_build": {
            "wall_seconds": round(monitoring["wall"], 2),
            "cpu_seconds": round(monitoring["cpu"], 2),
            "node_cpu_seconds": round(monitoring["node_cpu"], 2),
            "models_seconds": round(_own_seconds(monitoring["results"], "model"), 2),
            "tests_seconds": round(_own_seconds(monitoring["results"], "test"), 2),
            "models": len(by_model),
            "tests": sum(1 for r in monitoring["results"] if r["unique_id"].startswith("test.")),
            "by_model": by_model,
            "process_figures_are_the_whole_scoring_build": whole_build,
        },
    }
    f, m = round_["feature_build"], round_["monitoring_build"]
    round_["ratios"] = {
        "models": round(m["models_seconds"] / f["models_seconds"], 3),
        "models_and_tests": round(
            (m["models_seconds"] + m["tests_seconds"]) / (f["models_seconds"] + f["tests_seconds"]), 3
        ),
        "process_cpu": round(m["cpu_seconds"] / f["cpu_seconds"], 3),
        "node_cpu": round(m["node_cpu_seconds"] / f["node_cpu_seconds"], 3),
    }
    return round_


def _summary(rounds: list[dict]) -> dict:
    def median(path: tuple[str, str]) -> float:
        return round(statistics.median(r[path[0]][path[1]] for r in rounds), 3)

    return {
        "feature_models_seconds": median(("feature_build", "models_seconds")),
        "feature_cpu_seconds": median(("feature_build", "cpu_seconds")),
        "monitoring_models_seconds": median(("monitoring_build", "models_seconds")),
        "monitoring_tests_seconds": median(("monitoring_build", "tests_seconds")),
        "monitoring_cpu_seconds": median(("monitoring_build", "cpu_seconds")),
        "feature_node_cpu_seconds": median(("feature_build", "node_cpu_seconds")),
        "monitoring_node_cpu_seconds": median(("monitoring_build", "node_cpu_seconds")),
        "ratio_node_cpu": median(("ratios", "node_cpu")),
        "ratio_models": median(("ratios", "models")),
        "ratio_models_and_tests": median(("ratios", "models_and_tests")),
        "ratio_process_cpu": median(("ratios", "process_cpu")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warehouse", type=Path, required=True, help="A warehouse built by `riskmart run`.")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="Its as-of date.")
    parser.add_argument("--before", help="A git revision to measure against, alternating with this checkout.")
    parser.add_argument("--rounds", type=int, default=1, help="Re-runs of the day per project (default 1).")
    parser.add_argument(
        "--full-refresh", action="store_true", help="Also time a full refresh of the project."
    )
    parser.add_argument(
        "--next-day",
        type=Path,
        metavar="LANDING",
        help="Measure the day --as-of as a new day from this landing folder, on a warehouse as of the day before.",
    )
    parser.add_argument(
        "--added-wall",
        action="store_true",
        help="With --next-day: also time the scoring build with and without the monitoring models, alternating"
        " --rounds times on this checkout, with the profile's threads.",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_monitoring_")).resolve()
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "warehouse": str(args.warehouse),
        "megabytes": round(args.warehouse.stat().st_size / 1e6, 1),
        "as_of": args.as_of.isoformat(),
        "next_day": args.next_day is not None,
    }
    projects = {"after": PROJECT_DIR}
    if args.before:
        projects = {"before": _project_at(args.before, work / "before_project"), **projects}
        report["before"] = args.before
    try:
        warehouses = {}
        for side in projects:
            warehouses[side] = work / side / "riskmart.duckdb"
            warehouses[side].parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(args.warehouse, warehouses[side])
        if args.full_refresh:
            run = _dbt(["run", "--full-refresh"], PROJECT_DIR, warehouses["after"], work / "full", args.as_of)
            report["full_refresh_run"] = {"wall_seconds": round(run["wall"], 2), **_split(run["results"])}
        if args.next_day:  # each side's copy settled: its own monitoring build of the warehouse's day
            for side, project in projects.items():
                day_before = args.as_of - timedelta(days=1)
                _dbt(MONITORING_BUILD, project, warehouses[side], work / side / "settle", day_before)
        rounds: dict[str, list[dict]] = {side: [] for side in projects}
        registry = args.warehouse.parent / "models"
        for _ in range(args.rounds):
            for side, project in projects.items():
                if args.next_day:
                    result = _next_day(
                        project, warehouses[side], work / side, args.as_of, args.next_day, registry
                    )
                else:
                    result = _one_day(project, warehouses[side], work / side, args.as_of)
                rounds[side].append(result)
                print(side, json.dumps(result), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.added_wall and args.next_day:
        added_work = Path(tempfile.mkdtemp(prefix="bench_monitoring_wall_")).resolve()
        try:
            report["added_wall"] = _added_wall(
                PROJECT_DIR,
                args.warehouse,
                added_work,
                args.as_of,
                args.next_day,
                registry,
                args.rounds,
            )
        finally:
            shutil.rmtree(added_work, ignore_errors=True)
    report["load_average_after"] = os.getloadavg()
    report["sides"] = {side: {"median": _summary(r), "rounds": r} for side, r in rounds.items()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps({side: s["median"] for side, s in report["sides"].items()}, indent=1))
    if "added_wall" in report:
        print(json.dumps(report["added_wall"], indent=1))
