"""A real `riskmart serve` (uvicorn) on 127.0.0.1 and a free port, over a published scored snapshot."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.security import hash_entry
from api.tests.snapshots import build_published_snapshot, model_card, synthetic_scores

PROJECT = Path(__file__).resolve().parents[2]
KEY = "test-key-plain"
HASHED_KEY = "test-key-stored-as-hash"
REVOKED_KEY = "test-key-revoked"
N_CLIENTS, N_DAYS = 40, 10


@dataclass
class Server:
    base_url: str
    publish_dir: Path
    audit_log: Path
    log: Path
    process: subprocess.Popen

    def client(self, key: str | None = KEY) -> httpx.Client:
        headers = {"X-API-Key": key} if key is not None else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path, publish_dir: Path, timeout: float = 60) -> Server:
    port = _free_port()
    audit_log = workdir / "audit" / "api_audit.jsonl"
    log = workdir / f"server-{port}.log"
    env = {
        **os.environ,
        "RISKMART_PUBLISH_DIR": str(publish_dir),
        # The revoked key is also listed as accepted: revocation must win.
        "RISKMART_API_KEYS": f"{KEY}, {hash_entry(HASHED_KEY)},{REVOKED_KEY}",
        "RISKMART_API_REVOKED_KEYS": hash_entry(REVOKED_KEY),
        "RISKMART_AUDIT_LOG": str(audit_log),
        "RISKMART_API_SNAPSHOT_POLL_SECONDS": "0.1",
        # Paths the service must never read: the bundle is its only input.
        "RISKMART_WAREHOUSE": str(workdir / "no-warehouse" / "riskmart.duckdb"),
        "RISKMART_REGISTRY_DIR": str(workdir / "no-registry"),
        "RISKMART_DBT_PROJECT_DIR": str(workdir / "no-dbt-project"),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "riskmart.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=PROJECT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", publish_dir, audit_log, log, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"riskmart serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"riskmart serve not up after {timeout}s:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)  # graceful: uvicorn runs the shutdown, the audit log drains
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def snapshot_table() -> pa.Table:
    return synthetic_scores(N_CLIENTS, N_DAYS)


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, snapshot_table: pa.Table) -> Path:
    """The published bundle's folder (its scored mart: `scores.parquet`)."""
    workdir = tmp_path_factory.mktemp("published")
    return build_published_snapshot(workdir / "published", snapshot_table, model_card(), workdir).path


@pytest.fixture(scope="session")
def expected(published: Path) -> list[dict]:
    """The published rows as the pipeline wrote them, read independently of the API's loader."""
    return pq.read_table(published / "scores.parquet").to_pylist()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, published: Path) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("server"), published.parent)
    yield server
    stop_server(server)


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[[Path], Server]]:
    """Servers of one test (e.g. one whose snapshot the test replaces), stopped after it."""
    started: list[Server] = []

    def make(publish_dir: Path) -> Server:
        started.append(start_server(tmp_path, publish_dir))
        return started[-1]

    yield make
    for server in started:
        stop_server(server)
