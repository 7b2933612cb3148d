"""`python -m dashboard [--host H] [--port P]`: the dashboard without the riskmart CLI."""

from __future__ import annotations

import argparse
import sys

from dashboard.server import run_dashboard


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8501, help="TCP port (default 8501)")
    args = parser.parse_args()
    return run_dashboard(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
