"""Great Expectations suites built from the data contract (contract/__init__.py), and how rows are routed.

Reading (ingest/reading.py) puts every field as text into a DuckDB working table, `RECORDS` (one row per
record, many files at once). Validating that table row by row in pandas would cost seconds per million rows per rule, and
daily full snapshots repeat the same values thousands of times, so the rules are evaluated on the
*distinct keys* each rule depends on, and the answer is mapped back to every row with that key:

* a column's own rules (required, type, accepted values, range, client exists) depend only on the
  field's text, so they are checked once per distinct text of the column;
* "not after the file date" depends on the date and the export date; the export date is capped at the
  date (`LEAST(export_date, date)`), which keeps the answer (date <= capped iff date <= export date) and
  lets a date repeated in every daily file collapse to one key;
* an ordered pair (due_date >= order_date, ...) is checked once per distinct pair of texts;
* "unique within a file" depends on the multiset of ids in each file, so it is checked on every row
  (file number and a dense id code: two integer columns, cheap for pandas).

Each group of keys becomes columns of a pandas frame (groups of similar size share a frame; shorter
groups are repeated to the frame's length) and one Great Expectations validation with
`result_format=COMPLETE` and `unexpected_index_column_names=["_k"]` (the frame's index) names the failing
keys of every rule. Rules a row breaks are all reported, named `<column>:<check>`, e.g. `payment_amount:greater_than_0`,
`payment_date:not_after_file_date`, `payment_amount:type_double`, `client_id:client_exists`.

Types are parsed by DuckDB behind a strict pattern (DuckDB alone would round '1.5' into an integer or read
'infinity' as a date): integers `[+-]digits`; decimals with a `.` and an optional exponent (no thousands
separators, no `inf` or `nan`); dates `YYYY-MM-DD`; timestamps `YYYY-MM-DD[ T]HH:MM[:SS[.f]]` in UTC (a
`Z` or `+00:00` suffix is accepted, other offsets are not). Surrounding spaces are ignored. The type rule
says: a field that is present parses; Great Expectations checks DuckDB's verdict per distinct text.

`validate_records` runs it all on one batch and writes each (record, broken rule) into `BROKEN_RULES`,
from which the quarantine takes the rejected records.
"""

# SQL here interpolates only our own identifiers (contract names, working tables); values are parameters.
# ruff: noqa: S608

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from contract import (
    BUREAU_DECISIONS,
    DATE,
    FLOAT,
    HCPN_COLUMNS,
    HCPN_TABLE,
    INTEGER,
    STRING,
    TIMESTAMP,
    Column,
    TableSpec,
)
from ingest.batch import BROKEN_RULES, DISTINCT_KEYS, RECORDS, PhaseClock

# The bureau report as a table spec, with the rules of data-contract.md (hcpn section).
HCPN_SPEC = TableSpec(
    name=HCPN_TABLE,
    description="Credit-bureau reports, one per delivery of hcpn/hcpn_<client_id>.json.",
    columns=(
        Column("client_id", HCPN_COLUMNS["client_id"], required=True),
        Column("fecha_consulta", HCPN_COLUMNS["fecha_consulta"], required=True),
        Column("estado_solicitud", HCPN_COLUMNS["estado_solicitud"], accepted_values=BUREAU_DECISIONS),
        Column("motivo_rechazo", HCPN_COLUMNS["motivo_rechazo"]),
        Column("puntaje_credito", HCPN_COLUMNS["puntaje_credito"], min_value=0, max_value=1000),
        Column("defaults_bureau", HCPN_COLUMNS["defaults_bureau"], min_value=0),
        Column("deuda_total_externa", HCPN_COLUMNS["deuda_total_externa"], min_value=0),
        Column("creditos_activos", HCPN_COLUMNS["creditos_activos"], min_value=0),
    ),
    business_key=("client_id", "fecha_consulta"),
)

TYPE_NAMES = {INTEGER: "integer", FLOAT: "double", DATE: "date", TIMESTAMP: "timestamp"}
# Strict text forms per type (RE2 syntax, matched against the trimmed field).
TYPE_PATTERNS = {
    INTEGER: r"[+-]?[0-9]+",
    FLOAT: r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?",
    DATE: r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    TIMESTAMP: r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?(Z|\+00(:?00)?)?",
}

EXPORT_DATE_COLUMN = "__export_date"  # the export date of each row of RECORDS (set by reading)
FILE_COLUMN = "__file"  # the file number of each row of RECORDS
KEY_INDEX = "_k"  # position of a key in a validation frame (the frame's named index)
# Every failing row by its `_k`; without the failing values, which the routing does not need: with a
# named index Great Expectations then lists the index values without touching the rows one by one.
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [KEY_INDEX],
    "exclude_unexpected_values": True,
}
# Groups smaller than this share one frame regardless of padding; larger ones are packed by size.
SMALL_GROUP = 50_000


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def typed_sql(column: str, type_: str) -> str:
    """SQL parsing a text field strictly into its contract type; NULL when absent or not parseable."""
    col = quote_ident(column)
    if type_ == STRING:
        return col
    pattern = TYPE_PATTERNS[type_].replace("'", "''")
    return f"CASE WHEN regexp_full_match(trim({col}), '{pattern}') THEN TRY_CAST(trim({col}) AS {type_}) END"


def load_sql(column: str, type_: str) -> str:
    """SQL casting a validated text field to its contract type (the strict check has passed)."""
    col = quote_ident(column)
    # the strict pattern has passed, and DuckDB's cast ignores the surrounding spaces the pattern allows
    return col if type_ == STRING else f"CAST({col} AS {type_})"


def _number(value: float) -> str:
    return f"{value:g}"


def range_rule(col: Column) -> str:
    if col.min_value is not None and col.max_value is not None:
        return f"{col.name}:between_{_number(col.min_value)}_and_{_number(col.max_value)}"
    if col.min_value is not None:
        return f"{col.name}:{'greater_than' if col.strict_min else 'at_least'}_{_number(col.min_value)}"
    return f"{col.name}:at_most_{_number(col.max_value)}"


def pair_rule(spec: TableSpec, a: str, b: str) -> str:
    return f"{a}:{'not_before' if spec.column(a).type == DATE else 'at_least'}_{b}"


def unique_rule(column: str) -> str:
    return f"{column}:unique_within_file"


CLIENT_EXISTS_RULE = "client_id:client_exists"


@dataclass(frozen=True)
class Check:
    """One rule as a Great Expectations expectation over frame columns (named without group prefix)."""

    rule: str
    expectation: str  # class name in great_expectations.expectations
    columns: dict[str, str]  # expectation argument -> frame column (column, column_A, column_B)
    options: dict = field(default_factory=dict)  # other expectation arguments

    def build(self, prefix: str):
        gx = _gx()
        kwargs = {arg: prefix + column for arg, column in self.columns.items()} | self.options
        return getattr(gx.expectations, self.expectation)(**kwargs, meta={"rule": self.rule})


@dataclass
class KeyGroup:
    """Rows that share these key values get the same answer from these rules."""

    name: str
    key_sql: dict[str, str]  # key column -> SQL over RECORDS
    frame_sql: dict[str, str]  # frame column -> SQL over the key columns
    categorical: tuple[str, ...] = ()  # frame columns holding text (sent to pandas as categories)
    checks: list[Check] = field(default_factory=list)


def key_groups(spec: TableSpec, known_clients: str | None = None) -> list[KeyGroup]:
    """The key groups and checks encoding the contract's rules for one table.

    `known_clients`: the table (one `client_id` column) of the clients that exist, for the tables with
    the client-exists rule. DuckDB looks each distinct id up in it; Great Expectations checks the answer
    (a value set of tens of thousands of ids inside an expectation costs seconds per validation).
    """
    groups: list[KeyGroup] = []
    for col in spec.columns:
        must_exist = col.name == "client_id" and spec.client_must_exist
        if not (col.required or col.type != STRING or col.accepted_values or must_exist):
            continue
        name, present, typed, export = col.name, f"{col.name}__present", col.name, f"{col.name}__export"
        group = KeyGroup(name=name, key_sql={"raw": quote_ident(name)}, frame_sql={})
        if col.type == STRING and not (col.accepted_values or must_exist):
            # only presence matters: one key for every present value, one for missing
            group.key_sql = {"raw": f"CASE WHEN {quote_ident(name)} IS NOT NULL THEN '' END"}
        if col.required:
            group.frame_sql[present] = "raw IS NOT NULL"
            group.checks.append(
                Check(
                    f"{name}:required",
                    "ExpectColumnValuesToBeInSet",
                    {"column": present},
                    {"value_set": [True]},
                )
            )
        if col.type != STRING:
            parses = f"{name}__parses"
            group.frame_sql[typed] = typed_sql("raw", col.type)
            # DuckDB parses, Great Expectations checks: NULL (ignored) where the field is absent
            group.frame_sql[parses] = (
                f"CASE WHEN raw IS NOT NULL THEN ({typed_sql('raw', col.type)}) IS NOT NULL END"
            )
            group.checks.append(
                Check(
                    f"{name}:type_{TYPE_NAMES[col.type]}",
                    "ExpectColumnValuesToBeInSet",
                    {"column": parses},
                    {"value_set": [True]},
                )
            )
        elif col.accepted_values:
            group.frame_sql[typed] = "raw"
            group.categorical = (typed,)
        if col.accepted_values:
            group.checks.append(
                Check(
                    f"{name}:accepted_values",
                    "ExpectColumnValuesToBeInSet",
                    {"column": typed},
                    {"value_set": list(col.accepted_values)},
                )
            )
        if must_exist:
            if known_clients is None:
                raise ValueError(f"{spec.name}: the client-exists rule needs the table of known clients")
            exists = f"{name}__exists"
            group.frame_sql[exists] = (
                f"CASE WHEN raw IS NOT NULL THEN raw IN (SELECT client_id FROM {known_clients}) END"  # noqa: S608
            )
            group.checks.append(
                Check(
                    CLIENT_EXISTS_RULE,
                    "ExpectColumnValuesToBeInSet",
                    {"column": exists},
                    {"value_set": [True]},
                )
            )
        if col.min_value is not None or col.max_value is not None:
            bounds = {"min_value": col.min_value, "max_value": col.max_value, "strict_min": col.strict_min}
            group.checks.append(
                Check(range_rule(col), "ExpectColumnValuesToBeBetween", {"column": typed}, bounds)
            )
        if col.not_after_file_date:
            # the export date capped at the row's date: same answer, far fewer distinct keys
            group.key_sql["export"] = (
                f"LEAST({EXPORT_DATE_COLUMN}, TRY_CAST(trim({quote_ident(name)}) AS DATE))"
            )
            group.frame_sql[export] = "export"
            group.checks.append(
                Check(
                    f"{name}:not_after_file_date",
                    "ExpectColumnPairValuesAToBeGreaterThanB",
                    {"column_A": export, "column_B": typed},
                    {"or_equal": True, "ignore_row_if": "either_value_is_missing"},
                )
            )
        groups.append(group)
    for a, b in spec.ordered_pairs:
        col_a, col_b = f"{a}__a", f"{b}__b"
        group = KeyGroup(
            name=f"{a}>={b}",
            key_sql={"a": quote_ident(a), "b": quote_ident(b)},
            frame_sql={
                col_a: typed_sql("a", spec.column(a).type),
                col_b: typed_sql("b", spec.column(b).type),
            },
        )
        group.checks.append(
            Check(
                pair_rule(spec, a, b),
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": col_a, "column_B": col_b},
                {"or_equal": True, "ignore_row_if": "either_value_is_missing"},
            )
        )
        groups.append(group)
    return groups


@dataclass
class GroupFrame:
    """The distinct keys of one group, as sent to Great Expectations (row i is key i)."""

    group: KeyGroup
    index: int  # position of the group in its table's list; frame columns are prefixed g<index>__
    frame: pd.DataFrame

    @property
    def prefix(self) -> str:
        return f"g{self.index}__"


def pack(frames: list[GroupFrame]) -> list[list[GroupFrame]]:
    """Groups sharing one validation: similar sizes together, so repeating short groups costs little."""
    ordered = sorted((f for f in frames if len(f.frame)), key=lambda f: len(f.frame), reverse=True)
    packs: list[list[GroupFrame]] = []
    for item in ordered:
        size = len(item.frame)
        if packs:
            longest = len(packs[-1][0].frame)
            if longest <= SMALL_GROUP or size * 4 >= longest:
                packs[-1].append(item)
                continue
        packs.append([item])
    return packs


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    warnings.filterwarnings("ignore", module="great_expectations")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    return gx


def import_great_expectations() -> None:
    """Import Great Expectations (seconds of Python), e.g. in a thread while files are hashed."""
    _gx()


class Validator:
    """One ephemeral Great Expectations context per ingest run; validates key frames."""

    def __init__(self) -> None:
        gx = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("riskmart_ingest")
        self._batch_definition = source.add_dataframe_asset("keys").add_batch_definition_whole_dataframe(
            "all"
        )
        self._suites = 0

    def _validate(self, frame: pd.DataFrame, expectations: list) -> dict[str, np.ndarray]:
        """Rule (each expectation's meta["rule"]) -> positions (`_k`) of the frame's rows that break it."""
        frame = frame.set_index(KEY_INDEX)
        self._suites += 1
        suite = self._gx.ExpectationSuite(name=f"riskmart_ingest_{self._suites}")
        for expectation in expectations:
            suite.add_expectation(expectation)
        suite = self.context.suites.add(suite)
        try:
            batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(
                suite,
                result_format=RESULT_FORMAT,
            )
        finally:
            self.context.suites.delete(suite.name)
        failures: dict[str, np.ndarray] = {}
        for outcome in result.results:
            rule = outcome.expectation_config.meta["rule"]
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                raise RuntimeError(f"Great Expectations could not evaluate {rule}: {outcome.exception_info}")
            if outcome.success:
                continue
            positions = _unexpected_positions(outcome.result.get("unexpected_index_list") or [])
            failures[rule] = np.union1d(failures.get(rule, np.empty(0, np.int64)), positions)
        return failures

    def validate_groups(self, frames: list[GroupFrame]) -> dict[int, dict[str, np.ndarray]]:
        """Group index -> rule -> positions of the group's keys that break the rule."""
        out: dict[int, dict[str, np.ndarray]] = {f.index: {} for f in frames}
        for members in pack(frames):
            length = max(len(m.frame) for m in members)
            columns: dict[str, object] = {KEY_INDEX: np.arange(length, dtype=np.int64)}
            expectations = []
            for member in members:
                take = np.arange(length) % len(member.frame)
                for name in member.frame.columns:
                    series = member.frame[name]
                    if name in member.group.categorical:
                        series = series.astype("category")
                    columns[member.prefix + name] = series.take(take).reset_index(drop=True)
                for check in member.group.checks:
                    expectation = check.build(member.prefix)
                    expectation.meta = {"rule": f"{member.index}|{check.rule}"}
                    expectations.append(expectation)
            frame = pd.DataFrame(columns)
            for tagged_rule, positions in self._validate(frame, expectations).items():
                index, rule = tagged_rule.split("|", 1)
                size = len(next(m for m in members if m.index == int(index)).frame)
                out[int(index)][rule] = np.unique(positions % size)
        return out

    def duplicated_positions(self, file_and_id: pd.Series, rule: str) -> np.ndarray:
        """Positions of rows whose (file, id) code appears more than once; all copies are reported.

        `file_and_id` holds one integer per row coding its file and its id (NULL where the id is missing).
        """
        if len(file_and_id) == 0:
            return np.empty(0, np.int64)
        frame = pd.DataFrame(
            {KEY_INDEX: np.arange(len(file_and_id), dtype=np.int64), "file_and_id": file_and_id}
        )
        expectation = self._gx.expectations.ExpectColumnValuesToBeUnique(
            column="file_and_id", meta={"rule": rule}
        )
        return self._validate(frame, [expectation]).get(rule, np.empty(0, np.int64))


def _unexpected_positions(unexpected_index_list: list) -> np.ndarray:
    """`_k` of every failing row: one dict of lists (values excluded) or one dict per row."""
    parts = [
        np.asarray(
            entry[KEY_INDEX] if isinstance(entry[KEY_INDEX], list) else [entry[KEY_INDEX]], dtype=np.int64
        )
        for entry in unexpected_index_list
    ]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


# ---- validating a batch: distinct keys out of DuckDB, failing keys back onto the rows ------------------


def start_broken_rules(con: duckdb.DuckDBPyConnection) -> None:
    """An empty `BROKEN_RULES` for the batch: (row, rule), one row per rule a record breaks."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {BROKEN_RULES} (row BIGINT, rule VARCHAR)")


def validate_records(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    validator: Validator,
    known_clients: str | None,
    clock: PhaseClock,
) -> None:
    """Every rule of `spec` on the batch's `RECORDS`; each broken one goes into `BROKEN_RULES`.
    `known_clients` is the table of client ids the client-exists rule looks up (None: no such rule)."""
    groups = key_groups(spec, known_clients)
    frames: list[GroupFrame] = []
    keys: dict[int, np.ndarray] = {}
    for index, group in enumerate(groups):
        key_select = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in group.key_sql.items())
        frame_select = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in group.frame_sql.items())
        table = DISTINCT_KEYS.format(index)
        with clock("validate_keys"):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS "
                f"SELECT row_number() OVER () AS __key, k.*, {frame_select} "
                f"FROM (SELECT DISTINCT {key_select} FROM {RECORDS}) AS k"
            )
            frame = con.execute(
                f"SELECT __key, {', '.join(quote_ident(n) for n in group.frame_sql)} FROM {table}"
            ).df()
        keys[index] = frame.pop("__key").to_numpy()
        frames.append(GroupFrame(group=group, index=index, frame=frame))
    with clock("great_expectations"):
        failures = validator.validate_groups(frames)
    for index, group in enumerate(groups):
        table = DISTINCT_KEYS.format(index)
        if failures[index]:
            # every failing key of the group with its rules, joined back to the rows holding it
            failing = pd.DataFrame(
                {
                    "__key": np.concatenate([keys[index][at] for at in failures[index].values()]),
                    "rule": np.repeat(list(failures[index]), [len(at) for at in failures[index].values()]),
                }
            )
            match = " AND ".join(
                f"({sql}) IS NOT DISTINCT FROM k.{quote_ident(name)}" for name, sql in group.key_sql.items()
            )
            key_columns = ", ".join(f"k.{quote_ident(name)}" for name in group.key_sql)
            con.register("_ingest_failing_keys", failing)
            con.execute(
                f"INSERT INTO {BROKEN_RULES} SELECT b.rowid, k.rule FROM {RECORDS} AS b "
                f"JOIN (SELECT {key_columns}, f.rule FROM {table} AS k JOIN _ingest_failing_keys AS f USING (__key)) "
                f"AS k ON {match}"
            )
            con.unregister("_ingest_failing_keys")
        con.execute(f"DROP TABLE {table}")
    for column in spec.unique_within_file:
        with clock("validate_unique"):
            _validate_unique(con, validator, column)


def _validate_unique(con: duckdb.DuckDBPyConnection, validator: Validator, column: str) -> None:
    col = quote_ident(column)
    # one integer per row: the file number in the high 32 bits, a dense code of the id in the low ones
    rows = con.execute(
        f"""
        WITH codes AS (
            SELECT {col}, row_number() OVER () AS code
            FROM (SELECT DISTINCT {col} FROM {RECORDS} WHERE {col} IS NOT NULL)
        )
        SELECT b.rowid AS row, b.{FILE_COLUMN} * 4294967296 + codes.code AS file_and_id
        FROM {RECORDS} AS b LEFT JOIN codes USING ({col})
        """
    ).df()
    rule = unique_rule(column)
    positions = validator.duplicated_positions(rows["file_and_id"], rule)
    if len(positions):
        failing = pd.DataFrame({"row": rows["row"].to_numpy()[positions], "rule": rule})
        con.register("_ingest_failing_rows", failing)
        con.execute(f"INSERT INTO {BROKEN_RULES} SELECT row, rule FROM _ingest_failing_rows")
        con.unregister("_ingest_failing_rows")
