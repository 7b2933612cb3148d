"""Score lookups: one client, a client's history, a batch of clients, a page of a day."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from api.deps import access_of
from api.errors import ApiError, responses
from api.schemas import (
    CLIENT_ID_MAX_LENGTH,
    CLIENT_ID_PATTERN,
    MAX_PAGE_SIZE,
    ClientId,
    ClientScore,
    ClientScoreHistory,
    ErrorCode,
    IsoDate,
    LookupRequest,
    LookupResponse,
    RiskLevel,
    ScorePage,
)

router = APIRouter(prefix="/v1", tags=["scores"])

ClientIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=CLIENT_ID_MAX_LENGTH,
        pattern=CLIENT_ID_PATTERN,
        description="The lender's client id, an opaque string (URL-encode it).",
    ),
]
CURSOR_PREFIX = b"c2:"


@dataclass(frozen=True)
class Cursor:
    """Where a page ended, bound to the day and filter it was returned for."""

    score_date: str
    risk_level: str | None
    band: str | None
    after: str


def encode_cursor(cursor: Cursor) -> str:
    payload = json.dumps([cursor.score_date, cursor.risk_level, cursor.band, cursor.after]).encode("utf-8")
    return base64.urlsafe_b64encode(CURSOR_PREFIX + payload).decode("ascii").rstrip("=")


def decode_cursor(token: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if not raw.startswith(CURSOR_PREFIX):
            raise ValueError("not a cursor of this API")
        score_date, risk_level, band, after = json.loads(raw[len(CURSOR_PREFIX) :].decode("utf-8"))
        if not all(isinstance(v, str) for v in (score_date, after)):
            raise ValueError("not a cursor of this API")
        if not all(v is None or isinstance(v, str) for v in (risk_level, band)):
            raise ValueError("not a cursor of this API")
        date.fromisoformat(score_date)
        return Cursor(score_date, risk_level, band, after)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ApiError(
            422, ErrorCode.INVALID_CURSOR, "cursor is not one this API returned; start without it"
        ) from exc


def _cursor_for_request(
    token: str, score_date: date | None, risk_level: str | None, band: str | None
) -> Cursor:
    """The cursor, refused when the request asks for another day or filter than the page it came from."""
    cursor = decode_cursor(token)
    asked_date = None if score_date is None else score_date.isoformat()
    if (asked_date not in (None, cursor.score_date)) or (risk_level, band) != (
        cursor.risk_level,
        cursor.band,
    ):
        raise ApiError(
            422,
            ErrorCode.INVALID_CURSOR,
            "this cursor belongs to another query (date "
            f"{cursor.score_date}, risk_level {cursor.risk_level}, band {cursor.band}): "
            "repeat that query's parameters with it, or start without a cursor",
        )
    return cursor


# The hottest route reads its two parameters itself, validated by the same pydantic types and reported
# the same way (422, same details) as FastAPI would: FastAPI's per-request parameter machinery costs
# ~20 us, a sixth of the whole request. OpenAPI documents them from the same types. Likewise it
# validates and serializes its response itself (bench/bench_api.py measures the difference).
_CLIENT_ID = TypeAdapter(ClientId)
_SCORE_DATE = TypeAdapter(IsoDate)
CLIENT_ID_DOC = "The lender's client id, an opaque string (URL-encode it)."
SCORE_DATE_DOC = "Score date, YYYY-MM-DD; default the client's latest."


def _validated(adapter: TypeAdapter, value: object, loc: tuple[str, str]) -> object:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": loc + tuple(e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


@router.get(
    "/clients/{client_id}/score",
    response_model=ClientScore,
    responses=responses(401, 403, 404, 422, 503),
    summary="A client's latest score, or its score on a date",
    openapi_extra={
        "parameters": [
            {
                "name": "client_id",
                "in": "path",
                "required": True,
                "description": CLIENT_ID_DOC,
                "schema": _CLIENT_ID.json_schema(),
            },
            {
                "name": "date",
                "in": "query",
                "required": False,
                "description": SCORE_DATE_DOC,
                "schema": _SCORE_DATE.json_schema(),
            },
        ]
    },
)
async def client_score(request: Request):
    scope = request.scope
    client_id = _validated(_CLIENT_ID, scope["path_params"]["client_id"], ("path", "client_id"))
    score_date = None
    if scope["query_string"]:  # no query string, no date: skip parsing one
        raw_date = request.query_params.get("date")
        if raw_date is not None:
            score_date = _validated(_SCORE_DATE, raw_date, ("query", "date"))
    state = scope["app"].state  # what access_of(request) reads, without building an Access
    found = 0
    try:
        # Validated against ClientScore and serialized as FastAPI would, without its generic response path
        # (~12 us); the repository keeps the bytes of rows already served until a newer snapshot.
        body = state.repository.score_json(client_id, score_date)
        found = 1
    finally:
        state.audit.record(scope["state"]["caller"], "client_score", [client_id], score_date, found)
    return Response(body, media_type="application/json")


@router.get(
    "/clients/{client_id}/scores",
    response_model=ClientScoreHistory,
    responses=responses(401, 403, 404, 422, 503),
    summary="A client's scores between two dates, newest first",
)
async def client_score_history(
    client_id: ClientIdPath,
    request: Request,
    date_from: Annotated[IsoDate | None, Query(alias="from", description="Earliest score date.")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description="Latest score date.")] = None,
):
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ApiError(422, ErrorCode.INVALID_RANGE, f"from ({date_from}) is after to ({date_to})")
    access = access_of(request)
    found = 0
    try:
        rows = access.repository.history(client_id, date_from, date_to)
        found = len(rows)
    finally:
        access.audit.record(
            access.caller,
            "client_score_history",
            [client_id],
            None,
            found,
            date_from=date_from,
            date_to=date_to,
        )
    return {"client_id": client_id, "from": date_from, "to": date_to, "scores": rows}


@router.post(
    "/scores/lookup",
    response_model=LookupResponse,
    responses=responses(401, 403, 413, 422, 503),
    summary="Scores of up to 1,000 clients in one call",
)
async def lookup_scores(
    body: Annotated[LookupRequest, Body()],
    request: Request,
):
    access = access_of(request)
    found = 0
    try:
        result = access.repository.lookup(body.client_ids, body.score_date)
        found = len(result.scores)
    finally:
        access.audit.record(
            access.caller, "lookup", list(dict.fromkeys(body.client_ids)), body.score_date, found
        )
    return {
        "score_date": body.score_date,
        "scores": result.scores,
        "unknown_client_ids": result.unknown_client_ids,
        "no_score_on_date": result.no_score_on_date,
    }


@router.get(
    "/scores",
    response_model=ScorePage,
    responses=responses(401, 403, 404, 422, 503),
    summary="A page of one day's scores, in client_id order (keyset pagination)",
)
async def score_page(
    request: Request,
    score_date: Annotated[
        IsoDate | None, Query(alias="date", description="YYYY-MM-DD; default latest.")
    ] = None,
    risk_level: Annotated[RiskLevel | None, Query(description="Only this risk level.")] = None,
    band: Annotated[
        str | None,
        Query(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_+-]+$", description="Only this band."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")] = 100,
    cursor: Annotated[
        str | None,
        Query(max_length=1024, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of the previous page."),
    ] = None,
):
    level = None if risk_level is None else risk_level.value
    after = None
    if cursor is not None:
        # A page after the first keeps its first page's day, even if a newer snapshot has arrived since.
        bound = _cursor_for_request(cursor, score_date, level, band)
        score_date, after = date.fromisoformat(bound.score_date), bound.after
    access = access_of(request)
    page = None
    try:
        page = access.repository.page(score_date, level, band, after, limit)
    finally:
        ids = [] if page is None else [item["client_id"] for item in page.items]
        access.audit.record(
            access.caller, "score_page", ids, page.score_date if page else score_date, len(ids)
        )
    return {
        "score_date": page.score_date,
        "items": page.items,
        "next_cursor": None
        if page.last_client_id is None
        else encode_cursor(Cursor(page.score_date.isoformat(), level, band, page.last_client_id)),
        "limit": limit,
    }
