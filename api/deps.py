"""What the routes get from the app, as Annotated aliases (FastAPI full-stack template style) and one
plain helper.

The caller is authenticated before routing, by `api.middleware.ApiMiddleware`; the routes read who it
is, the repository and the audit log with `access_of(request)`. That is a function call, not a
`Depends`: FastAPI spends ~15 us solving each dependency, as much as the rest of a score lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.audit import AuditLog
from api.repository import ScoreRepository


@dataclass(frozen=True, slots=True)
class Access:
    """An authenticated caller: its key id, where the scores are, where its lookups are recorded."""

    caller: str
    repository: ScoreRepository
    audit: AuditLog


def access_of(request: Request) -> Access:
    state = request.app.state
    return Access(request.scope["state"]["caller"], state.repository, state.audit)


async def get_repository(request: Request) -> ScoreRepository:
    return request.app.state.repository


RepositoryDep = Annotated[ScoreRepository, Depends(get_repository)]
