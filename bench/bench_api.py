"""Benchmark of the score API (issue 5): latency and throughput on loopback, against a bare-route ceiling.

    .venv/bin/python -m bench.bench_api [--clients 100000] [--days 30] [--requests 40000] [--seconds 15]

1. publishes a synthetic snapshot of clients x days (a bundle, as the pipeline publishes it);
2. starts `riskmart serve` (1 uvicorn worker) on it, and a bare FastAPI app that returns a constant JSON
   under the same uvicorn settings;
3. drives each, one after the other, with the same closed-loop load generator (4 keep-alive
   connections, HTTP/1.1, uvloop): GET /v1/clients/{id}/score with random ids, GET /constant;
4. times a 1,000-id POST /v1/scores/lookup;
5. profiles requests in-process (cProfile over the ASGI app) to say where the time goes.
Bounded: each load run stops at --requests or --seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"


def bare_app():
    """The ceiling: FastAPI with one route returning a constant JSON object, nothing else."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/constant")
    async def constant():
        return {"status": "ok", "value": 42}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: list[str], env: dict[str, str], port: int, ready_path: str, timeout: float = 180):
    proc = subprocess.Popen(args, env=env, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {ready_path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server on port {port} not ready after {timeout}s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _connection(port, paths, stop_at, deadline, latencies, errors, counter):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while counter[0] < stop_at and time.perf_counter() < deadline:
            counter[0] += 1
            path = paths[counter[0] % len(paths)]
            request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {API_KEY}\r\n\r\n".encode()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if head[9:12] != b"200":
                errors.append(head[9:12].decode())
    finally:
        writer.close()


async def _load(port, paths, connections, requests, seconds):
    latencies: list[float] = []
    errors: list[str] = []
    counter = [0]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection(port, paths, requests, deadline, latencies, errors, counter)
            for _ in range(connections)
        )
    )
    return latencies, errors, time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    port: int,
    paths: list[str],
    connections: int,
    requests: int,
    seconds: float,
    pid: int,
    warmup_paths: list[str] | None = None,
) -> dict:
    import uvloop

    warmup = paths if warmup_paths is None else warmup_paths
    uvloop.run(_load(port, warmup, connections, min(2000, requests), 2))  # warm-up
    cpu = _cpu_seconds(pid)
    latencies, errors, elapsed = uvloop.run(_load(port, paths, connections, requests, seconds))
    cpu = _cpu_seconds(pid) - cpu
    ms = np.array(latencies) * 1000
    return {
        # The server's own CPU per request: what it costs, whatever else the shared machine runs.
        "server_cpu_us_per_request": round(cpu / len(latencies) * 1e6),
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def repeat_share(paths: list[str], warmup: int, requests: int, asked: set[str]) -> float:
    """Of a run's requests (paths[1..requests], after a warm-up over paths[1..warmup]), the share for a
    path the server had already answered: the score route keeps the JSON of rows it served (api/repository.py),
    so repeated ids are cheaper than first ones. Adds the run's paths to `asked`."""
    n = len(paths)
    asked.update(paths[k % n] for k in range(1, min(2000, warmup) + 1))
    repeats = 0
    for k in range(1, requests + 1):
        path = paths[k % n]
        repeats += path in asked
        asked.add(path)
    return round(repeats / max(requests, 1), 3)


def time_batch_lookup(port: int, ids: list[str], repeats: int = 20) -> dict:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}) as client:
        times = []
        for k in range(repeats + 2):
            body = {"client_ids": random.sample(ids, 1000)}
            started = time.perf_counter()
            response = client.post("/v1/scores/lookup", json=body)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            assert len(response.json()["scores"]) == 1000
            if k >= 2:  # the first two warm the path up
                times.append(elapsed * 1000)
    return {
        "repeats": repeats,
        "median_ms": round(float(np.median(times)), 2),
        "max_ms": round(max(times), 2),
        "bytes": len(response.content),
    }


def lookup_in_process(publish_dir: Path, ids: list[str], repeats: int = 20) -> dict:
    """Server-side cost of a 1,000-id lookup without the network: repository, then response model."""
    from pydantic import TypeAdapter

    from api.repository import PublishedSnapshotRepository
    from api.schemas import LookupResponse

    repository = PublishedSnapshotRepository(publish_dir)
    repository.refresh()
    adapter = TypeAdapter(LookupResponse)
    lookup_ms, response_ms = [], []
    for _ in range(repeats):
        batch = random.sample(ids, 1000)
        started = time.perf_counter()
        result = repository.lookup(batch, None)
        middle = time.perf_counter()
        body = {"score_date": None, "scores": result.scores, "unknown_client_ids": [], "no_score_on_date": []}
        adapter.dump_json(adapter.validate_python(body))
        lookup_ms.append((middle - started) * 1000)
        response_ms.append((time.perf_counter() - middle) * 1000)
    return {
        "repository_ms": round(float(np.median(lookup_ms)), 2),
        "validate_and_serialize_ms": round(float(np.median(response_ms)), 2),
    }


def profile_requests(publish_dir: Path, audit: Path, paths: list[str], count: int = 3000) -> str:
    """cProfile of `count` GET requests driven straight into the ASGI app (no sockets): per-request costs."""
    from api.main import create_app
    from riskmart.settings import Settings

    settings = Settings(publish_dir=publish_dir, api_keys=API_KEY, audit_log=audit)
    app = create_app(settings)

    async def call(path: str) -> None:
        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": urllib.parse.unquote(raw_path),
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"x-api-key", API_KEY.encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent

    async def main() -> str:
        async with app.router.lifespan_context(app):
            for path in paths[:300]:
                await call(path)
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for path in paths[:count]:
                await call(path)
            profiler.disable()
            per_request_us = (time.perf_counter() - started) / count * 1e6
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(25)
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        return f"{count} requests in-process, {per_request_us:.0f} us per request under cProfile\n{out.getvalue()}"

    import uvloop

    return uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--requests", type=int, default=30_000, help="Per load run (upper bound).")
    parser.add_argument("--seconds", type=float, default=6, help="Per load run (upper bound).")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating ceiling/score rounds.")
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "results" / "api.json")
    args = parser.parse_args()

    from api.tests.snapshots import build_published_snapshot, client_ids, model_card, synthetic_scores

    workdir = Path(tempfile.mkdtemp(prefix="riskmart-bench-api-"))
    results: dict = {"clients": args.clients, "days": args.days, "connections": args.connections}
    servers: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        scores = synthetic_scores(args.clients, args.days)
        published = build_published_snapshot(workdir / "published", scores, model_card(), workdir)
        results["snapshot"] = {
            "rows": published.rows,
            "parquet_mb": round(published.scores_path.stat().st_size / 1e6, 1),
            "build_seconds": round(time.perf_counter() - started, 1),
        }
        print("snapshot", results["snapshot"], flush=True)

        ids = client_ids(args.clients)
        rng = random.Random(11)
        paths = [f"/v1/clients/{urllib.parse.quote(rng.choice(ids), safe='')}/score" for _ in range(50_000)]
        env = {
            **os.environ,
            "RISKMART_PUBLISH_DIR": str(workdir / "published"),
            "RISKMART_API_KEYS": API_KEY,
            "RISKMART_AUDIT_LOG": str(workdir / "audit.jsonl"),
        }
        api_port, bare_port = free_port(), free_port()
        started = time.perf_counter()
        api = start_server(
            [sys.executable, "-m", "riskmart.cli", "serve", "--port", str(api_port), "--workers", "1"],
            env,
            api_port,
            "/ready",
        )
        servers.append(api)
        results["startup_seconds"] = round(time.perf_counter() - started, 1)
        results["api_rss_mb"] = _rss_mb(api.pid)
        print("api up in", results["startup_seconds"], "s, rss", results["api_rss_mb"], "MB", flush=True)
        bare = start_server(
            [
                sys.executable, "-m", "uvicorn", "bench.bench_api:bare_app", "--factory",
                "--port", str(bare_port), "--workers", "1", "--no-access-log", "--log-level", "warning",
            ],
            env,
            bare_port,
            "/constant",
        )  # fmt: skip
        servers.append(bare)

        # Alternate ceiling and score runs so that load from elsewhere on the machine hits both alike.
        rounds: list[dict] = []
        asked: set[str] = set()
        for n in range(args.rounds):
            ceiling = run_load(
                bare_port, ["/constant"], args.connections, args.requests, args.seconds, bare.pid
            )
            score = run_load(api_port, paths, args.connections, args.requests, args.seconds, api.pid)
            score["repeat_share"] = repeat_share(paths, args.requests, score["requests"], asked)
            rounds.append(
                {
                    "ceiling": ceiling,
                    "score": score,
                    "rps_ratio": round(score["rps"] / ceiling["rps"], 3),
                    "cpu_ratio": round(
                        ceiling["server_cpu_us_per_request"] / score["server_cpu_us_per_request"], 3
                    ),
                }
            )
            print(f"round {n + 1}", json.dumps(rounds[-1]), flush=True)
        results["rounds"] = rounds
        best = sorted(rounds, key=lambda r: r["rps_ratio"])[len(rounds) // 2]  # the median round
        results["ceiling"], results["score"], results["rps_ratio"] = (
            best["ceiling"],
            best["score"],
            best["rps_ratio"],
        )
        results["cpu_ratio_median"] = sorted(r["cpu_ratio"] for r in rounds)[len(rounds) // 2]
        # First lookups only: ids the score runs never asked for (the warm-up repeats asked ones).
        fresh = sorted({urllib.parse.quote(i, safe="") for i in ids} - {p.split("/")[3] for p in paths})
        rng.shuffle(fresh)
        fresh_paths = [f"/v1/clients/{i}/score" for i in fresh]
        if fresh_paths:  # none when the score runs asked for every id
            ceiling = run_load(
                bare_port, ["/constant"], args.connections, args.requests, args.seconds, bare.pid
            )
            cold = run_load(
                api_port,
                fresh_paths,
                args.connections,
                args.requests,
                args.seconds,
                api.pid,
                warmup_paths=paths,
            )
            cold["repeat_share"] = round(
                max(0, cold["requests"] - len(fresh_paths) + 1) / cold["requests"], 3
            )
            results["cold"] = {
                "ceiling": ceiling,
                "score": cold,
                "rps_ratio": round(cold["rps"] / ceiling["rps"], 3),
                "cpu_ratio": round(
                    ceiling["server_cpu_us_per_request"] / cold["server_cpu_us_per_request"], 3
                ),
            }
            print("cold", json.dumps(results["cold"]), flush=True)
        results["lookup_1000"] = time_batch_lookup(api_port, ids)
        print("lookup_1000", results["lookup_1000"], flush=True)
        results["api_rss_mb_after"] = _rss_mb(api.pid)
        for proc in servers:
            stop_server(proc)
        servers.clear()

        results["lookup_1000_in_process"] = lookup_in_process(workdir / "published", ids)
        print("lookup_1000_in_process", results["lookup_1000_in_process"], flush=True)
        results["profile"] = profile_requests(workdir / "published", workdir / "audit-profile.jsonl", paths)
        print(results["profile"])
        summary = {k: v for k, v in results.items() if k != "profile"}
        print(json.dumps(summary, indent=1))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    finally:
        for proc in servers:
            stop_server(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


if __name__ == "__main__":
    main()
