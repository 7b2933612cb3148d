"""Operations: liveness, readiness (which snapshot is served), Prometheus metrics."""

from __future__ import annotations

import calendar
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from api.deps import RepositoryDep, access_of
from api.errors import error_response, responses
from api.metrics import CONTENT_TYPE
from api.repository import SnapshotUnavailable
from api.schemas import ErrorCode, Health, Ready

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health():
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Ready,
    responses=responses(503),
    summary="Readiness: a scored snapshot is loaded (its dates and row count)",
)
async def ready(repository: RepositoryDep):
    try:
        info = repository.info()
    except SnapshotUnavailable as exc:
        return error_response(
            503, ErrorCode.NOT_READY, f"no scored snapshot is loaded: {exc}", headers={"Retry-After": "5"}
        )
    return {"status": "ready", "snapshot": info}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE: {}}}, **responses(401, 403)},
    summary="Prometheus metrics (text format)",
)
async def metrics(request: Request):
    access = access_of(request)
    repository = access.repository
    state = request.app.state
    loads = repository.load_counts()
    gauges = [
        ("riskmart_api_snapshot_loads_total", "counter", "Snapshots loaded.", float(loads["ok"])),
        (
            "riskmart_api_snapshot_load_errors_total",
            "counter",
            "Published snapshots refused (unreadable or breaking the layout).",
            float(loads["error"]),
        ),
        (
            "riskmart_api_audit_records_total",
            "counter",
            "Audit records written.",
            float(access.audit.written),
        ),
        (
            "riskmart_api_audit_backlog",
            "gauge",
            "Audit records not yet written.",
            float(access.audit.backlog),
        ),
        (
            "riskmart_api_audit_write_errors_total",
            "counter",
            "Failed audit log writes (retried).",
            float(access.audit.write_errors),
        ),
    ]
    try:
        info = repository.info()
    except SnapshotUnavailable:
        info = None
    gauges.append(
        ("riskmart_api_snapshot_loaded", "gauge", "1 when a snapshot is served.", float(info is not None))
    )
    if info is not None:
        now = time.time()
        gauges += [
            (
                "riskmart_api_snapshot_age_seconds",
                "gauge",
                "Seconds since the served snapshot was published.",
                now - info["published_at"].timestamp(),
            ),
            ("riskmart_api_snapshot_rows", "gauge", "Rows of the served snapshot.", float(info["rows"])),
            (
                "riskmart_api_snapshot_latest_score_date_seconds",
                "gauge",
                "Latest score date of the served snapshot (unix time of its midnight UTC).",
                float(calendar.timegm(info["latest_score_date"].timetuple())),
            ),
        ]
    return PlainTextResponse(state.metrics.render(gauges), media_type=CONTENT_TYPE)
