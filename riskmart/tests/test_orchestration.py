"""The Airflow DAG example (orchestration/airflow/riskmart_daily.py) checked without Airflow: Airflow does not
install within CI's time (README, "Scheduling"), so the file is read as Python's syntax tree. One task per step
of the daily cycle in riskmart.pipeline.STEPS order, chained one after the other; retries with a delay; every
command a `riskmart` command that the CLI's own parser accepts; the data date from the run's logical date; the
dbt target from an Airflow Variable."""

from __future__ import annotations

import ast
import shlex
from datetime import date
from pathlib import Path

import pytest
import typer

from riskmart.cli import app
from riskmart.pipeline import STEPS

DAG_FILE = Path(__file__).resolve().parents[2] / "orchestration" / "airflow" / "riskmart_daily.py"
# the task of each step of the daily cycle: a new step in STEPS fails here until the DAG runs it too
STEP_TASKS = {
    "ingest": "ingest",
    "dbt build: features": "build_features",
    "train": "train",
    "score": "score",
    "dbt build: scores": "build_scores",
    "publish": "publish",
    "maintain": "maintain",
}
LOGICAL_DATE = "{{ ds }}"
# options of the CLI that take the data date
DATE_OPTIONS = {"--as-of", "--date"}


def _tree() -> ast.Module:
    return ast.parse(DAG_FILE.read_text(encoding="utf-8"), filename=str(DAG_FILE))


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def _calls(tree: ast.Module, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def _module_constants(tree: ast.Module) -> dict[str, object]:
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return constants


def _tasks(tree: ast.Module) -> dict[str, dict]:
    """variable name -> {task_id, bash_command, env, call} of every BashOperator assigned to a name."""
    tasks = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Name) and call.func.id == "BashOperator":
                keywords = _keywords(call)
                tasks[node.targets[0].id] = {
                    "task_id": ast.literal_eval(keywords["task_id"]),
                    "bash_command": ast.literal_eval(keywords["bash_command"]),
                    "keywords": keywords,
                }
    return tasks


def _chain(node: ast.expr) -> list[str]:
    """`a >> b >> c` as ['a', 'b', 'c']."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
        return _chain(node.left) + _chain(node.right)
    assert isinstance(node, ast.Name), ast.dump(node)
    return [node.id]


def _dependency_chains(tree: ast.Module) -> list[list[str]]:
    return [
        _chain(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp)
    ]


def test_the_dag_has_one_task_per_step_of_the_cycle_in_order() -> None:
    tree = _tree()
    tasks = _tasks(tree)
    assert set(STEP_TASKS) == set(STEPS), "a step of riskmart.pipeline.STEPS has no task in the DAG"
    assert len(_calls(tree, "BashOperator")) == len(tasks) == len(STEPS)
    chains = _dependency_chains(tree)
    assert len(chains) == 1, "the tasks are chained once, one after the other"
    assert [tasks[name]["task_id"] for name in chains[0]] == [STEP_TASKS[step] for step in STEPS]
    # no other dependency (set_upstream, chain(), lists) could reorder them
    called = {
        n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    assert not called & {"set_upstream", "set_downstream"}
    assert not _calls(tree, "chain")


def test_the_dag_retries_failed_tasks_after_a_delay_one_run_at_a_time() -> None:
    (dag,) = _calls(_tree(), "DAG")
    keywords = _keywords(dag)
    default_args = keywords["default_args"]
    assert isinstance(default_args, ast.Dict)
    args = {ast.literal_eval(k): v for k, v in zip(default_args.keys, default_args.values, strict=True)}
    assert ast.literal_eval(args["retries"]) >= 1
    delay = args["retry_delay"]
    assert isinstance(delay, ast.Call) and delay.func.id == "timedelta" and delay.keywords
    assert ast.literal_eval(keywords["max_active_runs"]) == 1, "days build on one another: one run at a time"
    # a data-interval timetable: the logical date is the start of the day the run's data belongs to (a plain
    # cron string on Airflow 3 makes it the trigger time, the day after the export's)
    schedule = keywords["schedule"]
    assert isinstance(schedule, ast.Call) and schedule.func.id == "CronDataIntervalTimetable"
    for task in _tasks(_tree()).values():
        assert "retries" not in task["keywords"], f"{task['task_id']} overrides the DAG's retries"


def _cli_command(bash_command: str):
    words = shlex.split(bash_command.replace(LOGICAL_DATE, date(2026, 6, 30).isoformat()))
    assert words[0] == "riskmart", bash_command
    group = typer.main.get_command(app)  # the click group typer builds, as `riskmart` runs it
    assert words[1] in group.commands, f"`riskmart {words[1]}` is not a command of the CLI"
    return group.commands[words[1]], words[2:]


@pytest.mark.parametrize("step", STEPS)
def test_every_task_runs_a_riskmart_command_the_cli_accepts(step: str) -> None:
    """The CLI's parser (click, under typer) parses and converts every option of the task's command, as
    `riskmart` would before running it; an unknown option, a bad choice or a malformed value fails here."""
    (task,) = [t for t in _tasks(_tree()).values() if t["task_id"] == STEP_TASKS[step]]
    command, args = _cli_command(task["bash_command"])
    with command.make_context(f"riskmart {command.name}", list(args), resilient_parsing=False) as context:
        assert context.params is not None


def test_a_command_the_cli_refuses_fails_the_check() -> None:
    """The check above can fail: an unknown option and an unknown --daily choice are refused."""
    for wrong in ("riskmart build --dayly features", "riskmart build --daily everything"):
        command, args = _cli_command(wrong)
        with pytest.raises(Exception) as refused:  # noqa: PT011 (click's UsageError, vendored by typer)
            command.make_context(f"riskmart {command.name}", list(args), resilient_parsing=False)
        assert type(refused.value).__name__ in {"NoSuchOption", "BadParameter"}, refused.value
        assert refused.value.exit_code == 2


def test_the_data_date_comes_from_the_logical_date() -> None:
    """Every command that takes a data date gets the run's logical date, `{{ ds }}`; the steps that read the
    date (ingest, both builds, train and score) all take it."""
    dated = set()
    for task in _tasks(_tree()).values():
        words = shlex.split(task["bash_command"].replace(LOGICAL_DATE, "LOGICAL_DATE"))
        for option, value in zip(words, words[1:], strict=False):
            if option in DATE_OPTIONS:
                assert value == "LOGICAL_DATE", task["bash_command"]
                dated.add(task["task_id"])
    assert dated == {"ingest", "build_features", "train", "score", "build_scores"}


def test_the_dbt_target_comes_from_an_airflow_variable() -> None:
    tree = _tree()
    env = _module_constants(tree)["RISKMART_ENV"]
    assert env["RISKMART_DBT_TARGET"].startswith("{{ var.value.get('riskmart_dbt_target'")
    for task in _tasks(tree).values():
        keywords = task["keywords"]
        assert isinstance(keywords["env"], ast.Name) and keywords["env"].id == "RISKMART_ENV"
        # the worker's own environment (RISKMART_* settings, the salt from a secret) is kept
        assert ast.literal_eval(keywords["append_env"]) is True


def test_score_if_champion_succeeds_before_the_first_champion(tmp_path):
    """The DAG's score task on a young lender's warehouse (no champion yet): nothing to score is no failure,
    as in the daily cycle; without --if-champion it is the CLI's usual error."""
    from typer.testing import CliRunner

    args = ["score", "--date", "2026-06-30", "--warehouse", str(tmp_path / "riskmart.duckdb")]
    quiet = CliRunner().invoke(app, [*args, "--if-champion"])
    assert quiet.exit_code == 0 and "no champion model yet" in quiet.output, quiet.output
    loud = CliRunner().invoke(app, args)
    assert loud.exit_code == 2 and "no champion" in loud.output, loud.output
