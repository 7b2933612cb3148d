"""The champion model's card."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import access_of
from api.errors import ApiError, responses
from api.schemas import ErrorCode, ModelCard

router = APIRouter(prefix="/v1", tags=["model"])


@router.get(
    "/model",
    response_model=ModelCard,
    responses=responses(401, 403, 404, 503),
    summary="The champion's model card (version, training window, metrics, features)",
)
async def model_card(request: Request):
    card = access_of(request).repository.model_card()
    if card is None:
        raise ApiError(
            404, ErrorCode.NO_MODEL, "no champion model is published; scores come from the rules alone"
        )
    return card
