"""``GET /api/v1/exchanges``: what a user needs to create a key on each exchange."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bf_shared.exchanges import EXCHANGES

from bf_gateway.adapters.tokens import Claims
from bf_gateway.entrypoints.security import deps_of, principal
from bf_gateway.entrypoints.views import ExchangesOut

router = APIRouter(prefix="/api/v1", tags=["exchanges"])


@router.get("/exchanges", response_model=ExchangesOut)
async def exchanges(_: Annotated[Claims, Depends(principal)], request: Request) -> ExchangesOut:
    """Supported exchanges (credential fields, markets, key page) and the IPs to whitelist."""
    return ExchangesOut(exchanges=list(EXCHANGES.values()), egress_ips=list(deps_of(request).egress_ips))
