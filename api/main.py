"""Builds the score API: `create_app()` is the uvicorn factory (`riskmart serve`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.audit import AuditLog
from api.errors import install_error_handlers
from api.metrics import Metrics
from api.middleware import ApiMiddleware
from api.repository import PublishedSnapshotRepository
from api.routes import applicants, model, ops, scores
from api.security import SCHEME_NAME, SECURITY_SCHEME, KeyRing, is_protected
from api.settings import ApiSettings, get_api_settings

log = logging.getLogger("riskmart.api")

DESCRIPTION = """Daily credit-risk scores of the lender's clients, for other systems of the lender.

Every `/v1` route needs an API key in the `X-API-Key` header. Scores come from the bundle the daily
pipeline publishes (scored snapshot, champion model, seeds); a newer bundle is picked up without a restart. Errors have one shape:
`{"error": {"code", "message", "details"}}`."""


def _log_to_stderr() -> None:
    # uvicorn configures only its own loggers; snapshot loads and refusals must show up beside them.
    logger = logging.getLogger("riskmart")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _openapi_with_api_key(app: FastAPI):
    """The schema FastAPI generates, plus the X-API-Key scheme on every route the middleware guards."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {})["securitySchemes"] = {SCHEME_NAME: SECURITY_SCHEME}
            for path, operations in schema["paths"].items():
                if is_protected(path):
                    for operation in operations.values():
                        operation["security"] = [{SCHEME_NAME: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_api_settings()
    _log_to_stderr()
    keyring = KeyRing.from_settings(settings.api_keys, settings.api_revoked_keys)
    if not keyring.accepted:
        log.warning("no API keys configured (RISKMART_API_KEYS): every /v1 request will get 401")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        repository = PublishedSnapshotRepository(settings.publish_path, settings.api_snapshot_poll_seconds)
        audit = AuditLog(
            settings.audit_log_path, rotate=settings.audit_log_rotate, max_bytes=settings.audit_log_max_bytes
        )
        repository.start()
        app.state.repository = repository
        app.state.audit = audit
        try:
            yield
        finally:
            repository.stop()
            audit.close()

    app = FastAPI(
        title="riskmart score API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # operationId = the route function's name (client_score, score_page, ...): readable method names
        # in generated clients instead of FastAPI's path-derived ones.
        generate_unique_id_function=lambda route: route.name,
        # Prometheus /metrics is the telemetry; FastAPI's native OpenTelemetry probes its providers on
        # every request (~8 us) even when none is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.metrics = Metrics()
    app.openapi = _openapi_with_api_key(app)
    install_error_handlers(app)
    # The hottest route also sits on the app itself, ahead of the included routers: FastAPI's matching
    # through an included router costs ~14 us a request, as much as the rest of a cached score lookup.
    # The same endpoint answers; the OpenAPI entry stays the router's (this copy is not in the schema).
    hot = next(r for r in scores.router.routes if isinstance(r, APIRoute) and r.name == "client_score")
    app.add_api_route(
        hot.path, hot.endpoint, methods=sorted(hot.methods), name=hot.name, include_in_schema=False
    )
    app.include_router(scores.router)
    app.include_router(applicants.router)
    app.include_router(model.router)
    app.include_router(ops.router)
    # Metrics, the API key and the body limit, in that order, as one ASGI layer (api/middleware.py).
    app.add_middleware(ApiMiddleware, keyring=keyring, metrics=app.state.metrics)
    return app
