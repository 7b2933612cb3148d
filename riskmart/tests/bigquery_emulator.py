"""A local BigQuery emulator for the tests: `bqemulator` (pinned in the `bigquery` extra), started on 127.0.0.1
on free ports, in memory, and stopped after use. dbt reaches it through the profile's `emulator` target.

bqemulator loads DuckDB's `spatial` extension at start-up (for GEOGRAPHY) and has no flag to skip it; without
internet `INSTALL spatial` fails, so this launcher replaces that step with a no-op (riskmart has no GEOGRAPHY
column), and has sqlglot parse each statement's text once instead of a dozen times (_parse_each_text_once).
Run as a module, it is that launcher: `python -m riskmart.tests.bigquery_emulator start ...`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT = "riskmart-emulator"
# how long a local server may take to answer (a missing BigQuery endpoint would instead cost minutes of the
# client's retries)
READY_TIMEOUT_S = 60


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    project: str

    def dbt_env(self) -> dict[str, str]:
        """The environment the profile's `emulator` target reads."""
        return {"RISKMART_BQ_API_ENDPOINT": self.endpoint, "RISKMART_BQ_PROJECT": self.project}

    def client(self):
        """A google-cloud-bigquery client of the emulator (anonymous: it checks no credentials)."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.endpoint),
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    """True when `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_server(command: list[str], log_path: Path, ready_url: str, what: str, env=None) -> Iterator[None]:
    """Start a local server process (its output to `log_path`), wait until `ready_url` answers, yield, stop
    it. A server that exits or does not answer within READY_TIMEOUT_S raises with its log's end."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not answers(ready_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} did not become ready at {ready_url}: {log_path.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_emulator(log_path: Path) -> Iterator[Emulator]:
    """Start the emulator, wait for its readiness endpoint, yield it, stop it."""
    rest_port, grpc_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{rest_port}"
    command = [
        sys.executable,
        "-m",
        "riskmart.tests.bigquery_emulator",
        "start",
        "--rest-host",
        "127.0.0.1",
        "--rest-port",
        str(rest_port),
        "--grpc-host",
        "127.0.0.1",
        "--grpc-port",
        str(grpc_port),
        "--ephemeral",
        "--project",
        PROJECT,
        "--log-level",
        "warning",
    ]
    # the avro extension would be downloaded too (best effort, but a slow time-out without internet)
    env = {**os.environ, "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false"}
    with running_server(command, log_path, f"{endpoint}/readyz", "the BigQuery emulator", env):
        yield Emulator(endpoint, PROJECT)


# DuckDB's type of a raw column -> BigQuery's (the raw tables hold no other types)
BIGQUERY_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "DOUBLE": "FLOAT64",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "BOOLEAN": "BOOL",
    "JSON": "JSON",
}


def copy_schema(warehouse: Path, schema: str, emulator: Emulator, work: Path) -> dict[str, int]:
    """Copy every table of `schema` in a DuckDB warehouse into the emulator's dataset of that name, each
    replacing the dataset's table, with CSV load jobs (what a lender's loader would run); returns the rows
    loaded per table."""
    import duckdb
    from google.cloud import bigquery

    client = emulator.client()
    client.create_dataset(schema, exists_ok=True)
    loaded = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
            ).fetchall()
        ]
        for table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            csv_path = work / f"{schema}.{table}.csv"
            con.execute(
                f"copy {schema}.{table} to '{csv_path}' (header, timestampformat '%Y-%m-%d %H:%M:%S.%f')"
            )
            job_config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.CSV,
                skip_leading_rows=1,
                write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
                schema=[bigquery.SchemaField(name, BIGQUERY_TYPES[kind]) for name, kind in columns],
            )
            with csv_path.open("rb") as handle:
                client.load_table_from_file(
                    handle, f"{emulator.project}.{schema}.{table}", job_config=job_config
                ).result()
            loaded[table] = client.get_table(f"{emulator.project}.{schema}.{table}").num_rows
    return loaded


def _parse_each_text_once() -> None:
    """bqemulator parses every statement's text with sqlglot.parse_one a dozen times and more (to classify
    it, sync its catalog, guard drops, snapshot DML, in each rewriter), most of its CPU in this suite: parse
    each text once and give every caller its own copy of the tree (copying costs about a quarter of
    parsing), so no caller sees another's changes. Calls with other options are passed through."""
    import functools

    import sqlglot

    parse_one = sqlglot.parse_one

    @functools.lru_cache(maxsize=1024)
    def parsed(sql: str, read: str | None, dialect: str | None):
        return parse_one(sql, read=read, dialect=dialect)

    def parse_one_cached(sql, read=None, dialect=None, into=None, **opts):
        names = (read, dialect)
        if (
            into is None
            and not opts
            and isinstance(sql, str)
            and all(n is None or isinstance(n, str) for n in names)
        ):
            return parsed(sql, read, dialect).copy()
        return parse_one(sql, read=read, dialect=dialect, into=into, **opts)

    sqlglot.parse_one = parse_one_cached


def _launch() -> None:
    _parse_each_text_once()  # before bqemulator's modules are imported
    from bqemulator.cli import main
    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = lambda self: None  # no internet: skip INSTALL spatial (module docstring)
    sys.exit(main())


if __name__ == "__main__":
    _launch()
