"""First paint of each dashboard page from a cold start, in headless Chromium (the browser, not AppTest).

    .venv/bin/python -m bench dashboard -- --publish-dir warehouse/published

For each page: start `riskmart dashboard` afresh (a new server process: no import, cache or snapshot
warmed), wait until it answers its health check, then open `/?page=<page>` in a new headless Chromium page
and time from navigation until the page's header is drawn and Streamlit's running indicator is gone (the
whole script ran and every chart was sent). The server start is reported apart, and so is the CPU time the
server's processes spent from navigation to paint (what the machine's load does not inflate). Goal (issue 12):
each page under 3 s on the published demo snapshot.

With --before REV, the dashboard package as of that git revision of this repository is measured too, its
cold starts alternating with this checkout's page by page, so both see the same machine load. Writes
bench/results/dashboard.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

RESULTS = Path(__file__).parent / "results" / "dashboard.json"
RISKMART = str(Path(sys.executable).parent / "riskmart")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
# What each page shows once drawn (as dashboard/tests/test_browser.py waits for it).
PAGES = {"portfolio": "Portfolio on", "client": "Client", "drift": "Drift against", "model": "Model"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(publish_dir: Path, code: Path | None = None) -> tuple[subprocess.Popen, str, float]:
    """`riskmart dashboard` on a free port, with the dashboard package from `code` (a folder holding another
    revision's `dashboard/`) when given."""
    port = _free_port()
    env = {**os.environ, "RISKMART_PUBLISH_DIR": str(publish_dir.resolve())}
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [os.environ.get("PYTHONPATH")])])
    started = time.perf_counter()
    process = subprocess.Popen(
        [RISKMART, "dashboard", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return process, url, time.perf_counter() - started
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.perf_counter() - started > 120:
            raise SystemExit("riskmart dashboard did not start")
        time.sleep(0.1)


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _processes() -> list[tuple[int, int, int, float]]:
    """(pid, parent pid, process group, user + system CPU seconds) of every live process."""
    ticks = os.sysconf("SC_CLK_TCK")
    rows = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after the command: state, ppid, pgrp, ..., utime (12th), stime (13th)
        rows.append(
            (int(entry.name), int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / ticks)
        )
    return rows


def _cpu_seconds(server_group: int) -> tuple[float, float]:
    """CPU seconds so far of the server's processes (its process group) and of the browser's (this process's
    other descendants: Playwright's driver and Chromium)."""
    rows = _processes()
    children: dict[int, list[int]] = {}
    for pid, parent, _, _ in rows:
        children.setdefault(parent, []).append(pid)
    descendants, stack = set(), [os.getpid()]
    while stack:
        for child in children.get(stack.pop(), []):
            descendants.add(child)
            stack.append(child)
    server = sum(cpu for _, _, group, cpu in rows if group == server_group)
    browser = sum(cpu for pid, _, group, cpu in rows if pid in descendants and group != server_group)
    return server, browser


def first_paint(browser, url: str, page_name: str, server: subprocess.Popen) -> tuple[float, float, float]:
    """Seconds from navigation to the drawn page, and the server's and the browser's CPU seconds meanwhile."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        server_before, browser_before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        page.goto(f"{url}/?page={page_name}", wait_until="domcontentloaded")
        page.get_by_role("heading", name=PAGES[page_name]).first.wait_for(timeout=120_000)
        page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
        seconds = time.perf_counter() - started
        server_after, browser_after = _cpu_seconds(server.pid)
        if page.locator('[data-testid="stException"]').count():
            raise SystemExit(f"{page_name}: the page shows an exception")
        return seconds, server_after - server_before, browser_after - browser_before
    finally:
        page.close()


def _dashboard_at(revision: str, into: Path) -> Path:
    """The `dashboard` package (and the `bundle` reader it imports) as of a git revision, under `into`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "dashboard", "bundle"],
        cwd=Path(__file__).resolve().parents[1],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--publish-dir", type=Path, required=True, help="A publish folder (CURRENT + bundles)."
    )
    parser.add_argument("--rounds", type=int, default=1, help="Cold starts per page.")
    parser.add_argument("--before", help="A git revision to measure against, alternating with this checkout.")
    args = parser.parse_args()

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    sides: dict[str, Path | None] = {"after": None}
    if args.before:
        sides = {"before": _dashboard_at(args.before, work), **sides}
    results: dict[str, dict[str, dict]] = {side: {} for side in sides}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            for name in PAGES:
                for side in sides:
                    results[side][name] = {
                        "first_paint_seconds": [],
                        "server_cpu_seconds": [],
                        "browser_cpu_seconds": [],
                        "server_start_seconds": [],
                    }
                for _ in range(args.rounds):
                    for side, code in sides.items():
                        process, url, start_seconds = _start_server(args.publish_dir, code)
                        try:
                            seconds, cpu, browser_cpu = first_paint(browser, url, name, process)
                        finally:
                            _stop(process)
                        page = results[side][name]
                        page["first_paint_seconds"].append(round(seconds, 2))
                        page["server_cpu_seconds"].append(round(cpu, 2))
                        page["browser_cpu_seconds"].append(round(browser_cpu, 2))
                        page["server_start_seconds"].append(round(start_seconds, 2))
                        print(
                            side, name, round(seconds, 2), "s; CPU s: server", round(cpu, 2),
                            "browser", round(browser_cpu, 2), flush=True,
                        )  # fmt: skip
        finally:
            browser.close()
            shutil.rmtree(work, ignore_errors=True)
    current = (args.publish_dir / "CURRENT").read_text(encoding="utf-8").strip()
    report = {
        "publish_dir": str(args.publish_dir),
        "bundle": current,
        "bundle_megabytes": round(
            sum(f.stat().st_size for f in (args.publish_dir / current).rglob("*") if f.is_file()) / 1e6, 1
        ),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "machine": platform.platform(),
        "before": args.before,
        "sides": {
            side: {
                name: {
                    **page,
                    "median_first_paint_seconds": statistics.median(page["first_paint_seconds"]),
                    "median_server_cpu_seconds": statistics.median(page["server_cpu_seconds"]),
                    "median_browser_cpu_seconds": statistics.median(page["browser_cpu_seconds"]),
                }
                for name, page in pages.items()
            }
            for side, pages in results.items()
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
