"""Scoring a prospective client with no history at the lender (the new-customer case)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["applicants"])
