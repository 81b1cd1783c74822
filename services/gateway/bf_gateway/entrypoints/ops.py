"""``/healthz`` (200 once NATS, the KV buckets and Vault are ready) and ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bf_gateway.entrypoints.security import deps_of

router = APIRouter(tags=["ops"])


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    ready = await deps_of(request).ready()
    return JSONResponse({"status": "ok" if ready else "starting"}, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(deps_of(request).registry), media_type=CONTENT_TYPE_LATEST)
