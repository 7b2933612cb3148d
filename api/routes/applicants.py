"""Scoring a prospective client with no history at the lender (the new-customer case)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from api.deps import access_of
from api.errors import responses
from api.schemas import ApplicantRequest, ClientScore
from scoring.applicant import Application, BureauReport

router = APIRouter(prefix="/v1", tags=["applicants"])


def _application(body: ApplicantRequest) -> Application:
    report = body.bureau_report
    return Application(
        application_date=body.application_date,
        requested_credit_limit=body.requested_credit_limit,
        industry=body.industry,
        applicant_reference=body.applicant_reference,
        bureau_report=None
        if report is None
        else BureauReport(
            fecha_consulta=report.fecha_consulta,
            estado_solicitud=report.estado_solicitud,
            puntaje_credito=report.puntaje_credito,
            defaults_bureau=report.defaults_bureau,
            deuda_total_externa=report.deuda_total_externa,
            creditos_activos=report.creditos_activos,
        ),
    )


@router.post(
    "/applicants/score",
    response_model=ClientScore,
    responses=responses(401, 403, 413, 422, 503),
    summary="Score a prospective client as the pipeline scores a new client without history",
)
def score_applicant(body: Annotated[ApplicantRequest, Body()], request: Request):
    # A plain `def`: XGBoost takes milliseconds, so FastAPI runs this in its thread pool, off the event loop.
    access = access_of(request)
    reference = body.applicant_reference or "applicant"
    found = 0
    try:
        # the scorer of the bundle being served: its seeds, its champion (or the rules alone without one)
        scored = access.repository.applicant_scorer().score(_application(body))
        found = 1
    finally:
        # Nothing of the applicant is stored but this record.
        access.audit.record(access.caller, "applicant_score", [reference], body.application_date, found)
    return scored
