"""The dbt project is filed and documented as its conventions say (style.md, issue 10 item 4): read from the
manifest of `dbt parse` and from the YAML itself, so a newcomer (or a BI tool reading the manifest) finds a
description for every model, column, seed and macro, a `source()` only in staging, every macro in a file
named for it, and each column description written once."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from riskmart.dbt import run_dbt
from riskmart.settings import PROJECT_DIR, Settings

pytestmark = pytest.mark.slow

# prefixes of adapter.dispatch implementations (`default__x`, `duckdb__x`, `bigquery__x`)
ADAPTER_PREFIX = re.compile(r"^(default|duckdb|bigquery|postgres|snowflake|redshift|databricks|spark)__")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    settings = Settings(warehouse=tmp_path_factory.mktemp("dbt_docs") / "riskmart.duckdb")
    run_dbt(settings, ["parse"])
    return json.loads((settings.warehouse.parent / "dbt" / "target" / "manifest.json").read_text())


def _ours(resources: dict) -> list[dict]:
    return [r for r in resources.values() if r.get("package_name") == "riskmart"]


def _undescribed_columns(relation: dict) -> list[str]:
    return [name for name, column in relation["columns"].items() if not column["description"].strip()]


def test_every_model_source_and_seed_and_their_columns_have_a_description(manifest):
    """Every model, source table and seed has a description, and so has every column its YAML declares; a
    seed declares every column of its CSV file."""
    missing = []
    for node in _ours(manifest["nodes"]):
        if node["resource_type"] not in {"model", "seed"}:
            continue
        if not node["description"].strip():
            missing.append(f"{node['resource_type']} {node['name']}")
        missing += [f"{node['name']}.{column}" for column in _undescribed_columns(node)]
        if node["resource_type"] == "seed":
            with (PROJECT_DIR / node["original_file_path"]).open(newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle))
            missing += [
                f"{node['name']}.{column} (not declared)"
                for column in header
                if column not in node["columns"]
            ]
    for source in _ours(manifest["sources"]):
        name = f"{source['source_name']}.{source['name']}"
        if not source["description"].strip():
            missing.append(f"source {name}")
        missing += [f"{name}.{column}" for column in _undescribed_columns(source)]
    assert not missing, (
        "undocumented (describe them in the folder's YAML, or a {% docs %} block):\n"
        + "\n".join(sorted(missing))
    )


def _signature(macro: dict) -> list[str]:
    """The parameter names of a macro (or generic test) as its SQL declares them."""
    match = re.search(r"{%-?\s*(?:macro|test)\s+\w+\s*\((.*?)\)\s*-?%}", macro["macro_sql"], re.S)
    if not match or not match.group(1).strip():
        return []
    params, depth, current = [], 0, ""
    for char in match.group(1):  # split on the commas outside brackets (a default may be a list)
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            params.append(current)
            current = ""
        else:
            current += char
    return [p.split("=")[0].strip() for p in [*params, current]]


def test_every_macro_is_documented_with_typed_arguments(manifest):
    """Every macro of the project (macros/ and the generic tests under tests/generic) has a description in
    macros/_macros.yml, and each of its parameters is documented with a type and a description."""
    problems = []
    for macro in _ours(manifest["macros"]):
        if not macro["description"].strip():
            problems.append(f"{macro['name']} ({macro['original_file_path']}): no description")
        documented = {a["name"]: a for a in macro["arguments"]}
        for param in _signature(macro):
            argument = documented.get(param)
            if argument is None:
                problems.append(f"{macro['name']}: argument {param} not documented")
            elif not (argument.get("type") and argument.get("description")):
                problems.append(f"{macro['name']}: argument {param} needs a type and a description")
        problems += [
            f"{macro['name']}: documents {a} it does not take"
            for a in documented
            if a not in _signature(macro)
        ]
    assert not problems, "in macros/_macros.yml:\n" + "\n".join(sorted(problems))


def test_source_is_read_only_in_staging(manifest):
    """Only models under models/staging/ read a source(); every other model reads them through ref(). The
    manifest records a source read in a macro the model calls too."""
    offenders = [
        f"{node['original_file_path']}: {', '.join(n for n in node['depends_on']['nodes'] if n.startswith('source.'))}"
        for node in _ours(manifest["nodes"])
        if node["resource_type"] == "model"
        and not node["original_file_path"].startswith("models/staging/")
        and any(n.startswith("source.") for n in node["depends_on"]["nodes"])
    ]
    assert not offenders, "source() outside models/staging (add a staging model and ref() it):\n" + "\n".join(
        offenders
    )


def _base_name(macro_name: str) -> str:
    """A macro's name without its adapter prefix (`bigquery__x` is x) or generic-test prefix (`test_x` is x)."""
    return ADAPTER_PREFIX.sub("", macro_name).removeprefix("test_")


def _callers_outside_its_file(manifest: dict) -> dict[str, set[str]]:
    """For each of our macros, the files other than its own that call it: by the manifest's recorded
    dependencies, and by name in the SQL of every node, hook, unit-test override and macro (dispatch and
    calls made in branches dbt did not render at parse time included)."""
    macros = _ours(manifest["macros"])
    callers: dict[str, set[str]] = defaultdict(set)
    texts = []  # (file, text)
    for node in _ours(manifest["nodes"]) + _ours(manifest.get("unit_tests", {})):
        hooks = [h["sql"] for key in ("pre-hook", "post-hook") for h in node.get("config", {}).get(key, [])]
        overrides = list(((node.get("overrides") or {}).get("macros") or {}).keys())
        texts.append((node["original_file_path"], "\n".join([node.get("raw_code", ""), *hooks, *overrides])))
        for uid in node.get("depends_on", {}).get("macros", []):
            callers[uid.split(".")[-1]].add(node["original_file_path"])
    for macro in macros:
        texts.append((macro["original_file_path"], macro["macro_sql"]))
        for uid in macro["depends_on"]["macros"]:
            callers[uid.split(".")[-1]].add(macro["original_file_path"])
    for macro in macros:
        called = re.compile(rf"(?<![\w.]){macro['name']}\s*\(|['\"]{macro['name']}['\"]")
        callers[macro["name"]] |= {path for path, text in texts if called.search(text)}
    return {m["name"]: callers[m["name"]] - {m["original_file_path"]} for m in macros}


def test_every_macro_file_is_named_for_the_macro_it_holds(manifest):
    """The rule: a macro file `<name>.sql` (under macros/ or tests/generic/) holds the macro or generic test
    `<name>`, its adapter implementations (`default__<name>`, `bigquery__<name>`, ...), and otherwise only
    private helpers of it. A helper is private when no other file calls it, it is not dispatched (no
    `<adapter>__` implementations of its own) and it does not override one of dbt's macros. Any other macro
    is public and goes in a file of its own name: one public macro per file."""
    macros = _ours(manifest["macros"])
    dbt_macros = {m["name"] for m in manifest["macros"].values() if m["package_name"] != "riskmart"}
    dispatched = {_base_name(m["name"]) for m in macros if ADAPTER_PREFIX.match(m["name"])}
    callers = _callers_outside_its_file(manifest)
    by_file = defaultdict(list)
    for macro in macros:
        by_file[macro["original_file_path"]].append(macro)
    problems = []
    for path, held in sorted(by_file.items()):
        stem = Path(path).stem
        if stem not in {_base_name(m["name"]) for m in held}:
            problems.append(f"{path}: holds no macro named {stem}")
        for macro in held:
            name = macro["name"]
            if _base_name(name) == stem:
                continue
            if callers[name]:
                problems.append(f"{path}: {name} is called from {', '.join(sorted(callers[name]))}")
            elif name in dispatched:
                problems.append(f"{path}: {name} is dispatched to adapter implementations")
            elif name in dbt_macros or name.startswith(("get_", "generate_", "materialization_")):
                problems.append(f"{path}: {name} overrides a macro dbt calls")
    assert not problems, "move each of these macros into a file of its own name:\n" + "\n".join(problems)


def _column_descriptions(node: yaml.Node, path: Path, seen: set[int], found: dict[str, list[str]]) -> None:
    """Collect every column description written out in a YAML document (not a doc() reference), once per
    YAML node: a column reused through a YAML anchor is written once."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys = {key.value: value for key, value in node.value}
        if isinstance(keys.get("columns"), yaml.SequenceNode):
            for column in keys["columns"].value:
                if id(column) in seen or not isinstance(column, yaml.MappingNode):
                    continue
                seen.add(id(column))
                fields = {key.value: value for key, value in column.value}
                description = fields.get("description")
                if description is not None and "doc(" not in description.value:
                    owner = keys["name"].value if "name" in keys else "?"
                    text = " ".join(description.value.split())
                    found[text].append(f"{path.relative_to(PROJECT_DIR)}: {owner}.{fields['name'].value}")
        for _, value in node.value:
            _column_descriptions(value, path, seen, found)
    elif isinstance(node, yaml.SequenceNode):
        for value in node.value:
            _column_descriptions(value, path, seen, found)


def test_no_column_description_is_written_twice():
    """A column description used by two or more columns (of models, sources or seeds, in any YAML file) is
    one `{% docs %}` block that each of them references with `description: '{{ doc("...") }}'`."""
    found: dict[str, list[str]] = defaultdict(list)
    for folder in ("models", "seeds"):
        for path in sorted((PROJECT_DIR / folder).rglob("*.yml")):
            _column_descriptions(yaml.compose(path.read_text(encoding="utf-8")), path, set(), found)
    repeated = {text: places for text, places in found.items() if len(places) > 1}
    assert not repeated, "write these once, as a {% docs %} block:\n" + "\n".join(
        f"{text[:80]!r}: {places}" for text, places in repeated.items()
    )


def test_the_warehouse_carries_each_models_description_and_the_marts_column_descriptions(
    manifest, demo_cycle
):
    """persist_docs (dbt_project.yml): in the demo cycle's warehouse every table and view of a model has its
    description as its comment, and every column the marts declare has its description as its comment (the
    layer BI tools read; the other layers' columns are documented in dbt's docs only)."""
    from ml.warehouse import WAREHOUSE_CATALOG, connect_warehouse

    with connect_warehouse(demo_cycle.settings.warehouse, read_only=True) as con:
        tables = {
            (schema, name): comment
            for schema, name, comment in con.execute(
                "select schema_name, table_name, comment from duckdb_tables() where database_name = ?"
                " union all select schema_name, view_name, comment from duckdb_views() where database_name = ?",
                [WAREHOUSE_CATALOG, WAREHOUSE_CATALOG],
            ).fetchall()
        }
        columns = {
            (schema, table, column): comment
            for schema, table, column, comment in con.execute(
                "select schema_name, table_name, column_name, comment from duckdb_columns()"
                " where database_name = ?",
                [WAREHOUSE_CATALOG],
            ).fetchall()
        }
    wrong, marts_columns = [], 0
    for node in _ours(manifest["nodes"]):
        relation = (node["schema"], node["alias"])
        if node["resource_type"] != "model" or relation not in tables:
            continue
        if tables[relation] != node["description"]:
            wrong.append(f"{node['name']}: comment {tables[relation]!r}")
        if node["original_file_path"].startswith("models/marts/"):
            for name, column in node["columns"].items():
                marts_columns += 1
                comment = columns.get((*relation, name))
                if comment != column["description"]:
                    wrong.append(f"{node['name']}.{name}: comment {comment!r}")
    assert marts_columns > 200, "the marts' declared columns were compared"
    assert not wrong, "\n".join(wrong)
