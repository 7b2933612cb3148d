"""One JSON shape for every error ({"error": {"code", "message", "details"}}) and the handlers that make it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.repository import NoScoreOnDate, SnapshotUnavailable, UnknownBand, UnknownClient
from api.schemas import MAX_LOOKUP_IDS, ErrorCode, ErrorResponse
from scoring.applicant import ApplicantScoringUnavailable

log = logging.getLogger("riskmart.api")

MAX_BODY_BYTES = 1_000_000


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None, **kw: Any
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details}}, status, **kw)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error statuses a route can answer."""
    text = {
        401: "No API key, or an unknown one.",
        403: "The API key was revoked.",
        404: "Unknown client, or no score on the date asked for.",
        413: f"More than {MAX_LOOKUP_IDS} client ids, or a body over {MAX_BODY_BYTES} bytes.",
        422: "A malformed parameter or body (date not YYYY-MM-DD, bad client id, unknown band, a cursor "
        "from another query).",
        503: "No scored snapshot is loaded yet (or, for applicants, the champion or a seed is unreadable).",
    }
    return {s: {"model": ErrorResponse, "description": text[s]} for s in statuses}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is left out on purpose: it can be large, and it is the caller's own anyway.
    return [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg")),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(UnknownClient)
    async def unknown_client(_: Request, exc: UnknownClient) -> JSONResponse:
        return error_response(
            404, ErrorCode.CLIENT_NOT_FOUND, f"no score for client {exc.args[0]!r} in the snapshot"
        )

    @app.exception_handler(NoScoreOnDate)
    async def no_score_on_date(_: Request, exc: NoScoreOnDate) -> JSONResponse:
        return error_response(404, ErrorCode.SCORE_NOT_FOUND, f"no score on {exc.args[0]} in the snapshot")

    @app.exception_handler(UnknownBand)
    async def unknown_band(_: Request, exc: UnknownBand) -> JSONResponse:
        return error_response(
            422,
            ErrorCode.UNKNOWN_BAND,
            f"no band {exc.band!r} in the published scores; the bands are: {', '.join(exc.known)}",
        )

    @app.exception_handler(SnapshotUnavailable)
    async def snapshot_unavailable(_: Request, exc: SnapshotUnavailable) -> JSONResponse:
        return error_response(
            503,
            ErrorCode.SNAPSHOT_UNAVAILABLE,
            f"no scored snapshot is loaded: {exc}",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(ApplicantScoringUnavailable)
    async def applicant_scoring_unavailable(_: Request, exc: ApplicantScoringUnavailable) -> JSONResponse:
        return error_response(503, ErrorCode.APPLICANT_SCORING_UNAVAILABLE, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        if any(d["type"] == "too_long" and d["loc"][:2] == ["body", "client_ids"] for d in details):
            return error_response(
                413, ErrorCode.BATCH_TOO_LARGE, f"send at most {MAX_LOOKUP_IDS} client ids per call", details
            )
        return error_response(
            422, ErrorCode.INVALID_REQUEST, "the request has malformed fields; see details", details
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's 400 is a body it could not decode (e.g. not UTF-8): malformed input, so a 422.
            return error_response(
                422, ErrorCode.INVALID_REQUEST, f"the request body could not be read: {exc.detail}"
            )
        code = {
            404: ErrorCode.NOT_FOUND,
            405: ErrorCode.METHOD_NOT_ALLOWED,
            413: ErrorCode.BODY_TOO_LARGE,
        }.get(exc.status_code, ErrorCode.HTTP_ERROR)
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(
            500, ErrorCode.INTERNAL_ERROR, "the service failed to answer; it has been logged"
        )
