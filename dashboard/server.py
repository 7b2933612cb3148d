"""Start the Streamlit server on dashboard/app.py: what `riskmart dashboard` and `python -m dashboard` run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command(host: str, port: int) -> list[str]:
    """The streamlit command line: headless, no usage statistics, no file watcher (a served app does not
    change; a new snapshot is picked up by the app itself), in a process that imports what the pages need
    before it serves (dashboard/streamlit_main.py)."""
    return [
        sys.executable,
        "-m",
        "dashboard.streamlit_main",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        # the app writes every element explicitly: no magic, so no rewrite of its syntax tree on a cold start
        "--runner.magicEnabled",
        "false",
    ]


def run_dashboard(host: str, port: int, publish_dir: Path | None = None) -> int:
    """Serve the dashboard until interrupted; returns streamlit's exit code."""
    env = dict(os.environ)
    if publish_dir is not None:
        env["RISKMART_PUBLISH_DIR"] = str(Path(publish_dir).resolve())
    try:
        return subprocess.call(streamlit_command(host, port), env=env)
    except KeyboardInterrupt:
        return 0
