"""First paint of each dashboard page from a cold start, in headless Chromium (the browser, not AppTest).

    .venv/bin/python -m bench dashboard -- --publish-dir warehouse/published

For each page: start `riskmart dashboard` afresh (a new server process: no import, cache or snapshot
warmed), wait until it answers its health check, then open `/?page=<page>` in a new headless Chromium page
and time from navigation until the page's header is drawn and Streamlit's running indicator is gone (the
whole script ran and every chart was sent). The server start is reported apart. Goal (issue 12): each page
under 3 s on the published demo snapshot. Writes bench/results/dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
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


def _start_server(publish_dir: Path) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    env = {**os.environ, "RISKMART_PUBLISH_DIR": str(publish_dir.resolve())}
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


def first_paint(browser, url: str, page_name: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        started = time.perf_counter()
        page.goto(f"{url}/?page={page_name}", wait_until="domcontentloaded")
        page.get_by_role("heading", name=PAGES[page_name]).first.wait_for(timeout=120_000)
        page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
        seconds = time.perf_counter() - started
        if page.locator('[data-testid="stException"]').count():
            raise SystemExit(f"{page_name}: the page shows an exception")
        return seconds
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--publish-dir", type=Path, required=True, help="A publish folder (CURRENT + bundles)."
    )
    parser.add_argument("--rounds", type=int, default=1, help="Cold starts per page.")
    args = parser.parse_args()

    pages: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            for name in PAGES:
                paints, starts = [], []
                for _ in range(args.rounds):
                    process, url, start_seconds = _start_server(args.publish_dir)
                    try:
                        paints.append(round(first_paint(browser, url, name), 2))
                        starts.append(round(start_seconds, 2))
                    finally:
                        _stop(process)
                pages[name] = {"first_paint_seconds": paints, "server_start_seconds": starts}
                print(name, pages[name], flush=True)
        finally:
            browser.close()
    current = (args.publish_dir / "CURRENT").read_text(encoding="utf-8").strip()
    report = {
        "publish_dir": str(args.publish_dir),
        "bundle": current,
        "bundle_megabytes": round(
            sum(f.stat().st_size for f in (args.publish_dir / current).rglob("*") if f.is_file()) / 1e6, 1
        ),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "machine": platform.platform(),
        "pages": pages,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
