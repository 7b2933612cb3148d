"""End to end: `riskmart dashboard` on 127.0.0.1, each page loaded in headless Debian chromium (`make browser`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROJECT = Path(__file__).resolve().parents[2]
RISKMART = PROJECT / ".venv" / "bin" / "riskmart"
# What each page shows once drawn (a header the page writes after reading the snapshot).
PAGES = {"portfolio": "Portfolio on", "client": "Client", "drift": "Drift against", "model": "Model"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard_url(published: Path, tmp_path: Path):
    port = _free_port()
    log = (tmp_path / "dashboard.log").open("w")
    env = {**os.environ, "RISKMART_PUBLISH_DIR": str(published)}
    command = [str(RISKMART), "dashboard", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"riskmart dashboard did not start: {(tmp_path / 'dashboard.log').read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_every_page_loads_in_chromium_without_an_exception(dashboard_url: str, tmp_path: Path):
    assert CHROMIUM.is_file(), "Debian's chromium is missing: run `make browser` (make test does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, header in PAGES.items():
                page.goto(f"{dashboard_url}/?page={name}", wait_until="domcontentloaded")
                page.get_by_role("heading", name=header).first.wait_for(timeout=60_000)
                # the run is over when Streamlit's status widget is gone
                page.wait_for_function(
                    "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
                )
                page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
                boxes = page.locator('[data-testid="stException"]')
                assert boxes.count() == 0, f"{name}: {boxes.first.inner_text()}"
                assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        finally:
            browser.close()
