"""Routes of the web dashboard, included by the gateway app (filled in by the dashboard)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
