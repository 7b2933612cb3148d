"""Run the benchmarks: `python -m bench` runs every bench/bench_*.py main(), `python -m bench demo_data api`
only those, and `python -m bench demo_data -- --clients 5000` passes the arguments after `--` to the one
selected benchmark."""

from __future__ import annotations

import importlib
import signal
import sys
import time
from pathlib import Path


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def run(argv: list[str]) -> int:
    names, extra = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    known = available()
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; available: {', '.join(known)}", file=sys.stderr)
        return 2
    selected = names or known
    if extra and len(selected) != 1:
        print("arguments after -- go to one benchmark: name exactly one", file=sys.stderr)
        return 2
    for name in selected:
        module = importlib.import_module(f"bench.bench_{name}")
        sys.argv = [f"bench_{name}", *extra]  # each benchmark parses its own arguments
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        module.main()
        print(f"== bench {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (`kill`, a CI timeout) ends a benchmark as Ctrl-C does: its `finally` blocks run and remove its
    temporary folders (warehouse copies of several GB each), where the default action left them on disk."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(run(sys.argv[1:]))
