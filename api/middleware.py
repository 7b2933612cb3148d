"""The API's one ASGI middleware: metrics, then the API key, then the body limit, in a single layer.

They were three pure-ASGI middlewares (metrics outermost, then the key check, then the body limit); each
layer is a coroutine call and a scope lookup more on every request, so they run here one after the other
in the same order and with the same answers:

1. every HTTP request is timed and counted under its route template (`api.metrics`), whatever answers it
   (a 401 or 413 below included: those count as "unmatched", as before, since no route was selected);
2. a protected path (`api.security.is_protected`) needs a valid, unrevoked X-API-Key: 401/403 in the API's
   error shape, else the caller's key id goes to `scope["state"]["caller"]`. A caller without a valid
   key learns nothing else, not even whether a path or a parameter is valid, nor that its body is too big;
3. a request body over MAX_BODY_BYTES, declared or streamed, is a 413 in the API's error shape (FastAPI's
   own max_body_size answers in plain text, which would break the one error shape).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import HTTPException

from api.errors import MAX_BODY_BYTES, error_response
from api.metrics import KNOWN_METHODS, Metrics
from api.schemas import ErrorCode
from api.security import API_KEY_HEADER, KeyRing, MissingKey, RevokedKey, is_protected

_KEY_HEADER = API_KEY_HEADER.lower().encode("ascii")
_NO_BODY_METHODS = ("GET", "HEAD")


class ApiMiddleware:
    def __init__(self, app: Any, keyring: KeyRing, metrics: Metrics, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.keyring = keyring
        self.metrics = metrics
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if is_protected(scope["path"]):
                # The first X-API-Key header counts. Keys are configured as UTF-8 text; a header that is
                # not UTF-8 cannot match one anyway.
                presented = None
                for name, value in scope["headers"]:
                    if name == _KEY_HEADER:
                        presented = value.decode("utf-8", "replace")
                        break
                try:
                    caller = self.keyring.authenticate(presented)
                except RevokedKey as exc:
                    await error_response(403, ErrorCode.KEY_REVOKED, str(exc))(
                        scope, receive, send_with_status
                    )
                    return
                except MissingKey as exc:
                    response = error_response(
                        401, ErrorCode.UNAUTHENTICATED, str(exc), headers={"WWW-Authenticate": "ApiKey"}
                    )
                    await response(scope, receive, send_with_status)
                    return
                scope.setdefault("state", {})["caller"] = caller
            if scope["method"] in _NO_BODY_METHODS:
                await self.app(scope, receive, send_with_status)
            else:
                await self._limited(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            # Unmatched paths share one series so that random URLs cannot blow up the label set.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            self.metrics.observe(template, method, status, time.perf_counter() - started)

    async def _limited(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The body limit: a declared length over it is refused before the app runs, a streamed body as
        soon as it passes it."""
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                response = error_response(
                    413, ErrorCode.BODY_TOO_LARGE, f"request bodies are limited to {self.max_bytes} bytes"
                )
                await response(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI passes HTTPException through its body parsing untouched (others become 400).
                    raise HTTPException(413, f"request bodies are limited to {self.max_bytes} bytes")
            return message

        await self.app(scope, counting_receive, send)
