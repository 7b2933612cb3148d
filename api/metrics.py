"""Prometheus metrics in the text exposition format: request counts and latency per route, snapshot age.

Counters live in this process (one uvicorn worker); Prometheus sums the workers' series it scrapes.
`api.middleware.ApiMiddleware` times and counts every request.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        # per (route, method): counts per bucket (non-cumulative), then the sum and the count
        self.latency: dict[tuple[str, str], list[float]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, status)] += 1
        series = self.latency.get((route, method))
        if series is None:
            series = self.latency[(route, method)] = [0.0] * (len(LATENCY_BUCKETS) + 3)
        # the first bucket whose bound is >= seconds; past the last one, the +Inf slot
        series[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series[-2] += seconds
        series[-1] += 1

    def render(self, gauges: list[tuple[str, str, str, float]]) -> str:
        """The exposition text; `gauges` are (name, type, help, value) of the app's own state."""
        out = [
            "# HELP riskmart_api_requests_total HTTP requests answered, by route template, method and status.",
            "# TYPE riskmart_api_requests_total counter",
        ]
        for (route, method, status), count in sorted(self.requests.items()):
            out.append(
                f'riskmart_api_requests_total{{route="{_label(route)}",method="{method}",status="{status}"}} {count}'
            )
        out += [
            "# HELP riskmart_api_request_duration_seconds Time to answer a request, by route template.",
            "# TYPE riskmart_api_request_duration_seconds histogram",
        ]
        for (route, method), series in sorted(self.latency.items()):
            labels = f'route="{_label(route)}",method="{method}"'
            cumulative = 0.0
            for bound, count in zip(LATENCY_BUCKETS, series, strict=False):
                cumulative += count
                out.append(
                    f'riskmart_api_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative:g}'
                )
            out.append(f'riskmart_api_request_duration_seconds_bucket{{{labels},le="+Inf"}} {series[-1]:g}')
            out.append(f"riskmart_api_request_duration_seconds_sum{{{labels}}} {series[-2]!r}")
            out.append(f"riskmart_api_request_duration_seconds_count{{{labels}}} {series[-1]:g}")
        for name, kind, help_text, value in gauges:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value!r}"]
        return "\n".join(out) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
