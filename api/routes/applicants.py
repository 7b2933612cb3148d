"""Scoring a prospective client with no history at the lender (the new-customer case)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from api.deps import access_of
from api.errors import responses
from api.schemas import ApplicantRequest, ClientScore

router = APIRouter(prefix="/v1", tags=["applicants"])


@router.post(
    "/applicants/score",
    response_model=ClientScore,
    responses=responses(401, 403, 413, 422, 503),
    summary="Score a prospective client as the pipeline scores a new client without history",
)
def score_applicant(body: Annotated[ApplicantRequest, Body()], request: Request):
    # A plain `def`: XGBoost takes milliseconds, so FastAPI runs this in its thread pool, off the event loop.
    access = access_of(request)
    card = access.repository.model_card()
    reference = body.applicant_reference or "applicant"
    found = 0
    try:
        scored = request.app.state.applicant_scorer.score(
            body, None if card is None else card["model_version"]
        )
        found = 1
    finally:
        # Nothing of the applicant is stored but this record.
        access.audit.record(access.caller, "applicant_score", [reference], body.application_date, found)
    return scored
