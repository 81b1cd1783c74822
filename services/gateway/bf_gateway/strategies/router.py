"""Strategy routes: parse, call a use case, shape the answer. Nothing else.

Bodies are read as plain JSON objects and validated by the use cases, so the presets can
fill omitted fields and every rule answers in its own words (422), with the gateway's error
format and authentication.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response

from bf_gateway.adapters.tokens import Claims
from bf_gateway.entrypoints.security import principal
from bf_gateway.strategies import handlers
from bf_gateway.strategies.handlers import StrategyDeps
from bf_gateway.strategies.views import StrategyListOut, StrategyOut, strategy_out
from bf_gateway.strategies.wiring import lifespan, strategy_deps

router = APIRouter(prefix="/api/v1", tags=["strategies"], lifespan=lifespan)

Caller = Annotated[Claims, Depends(principal)]
Wired = Annotated[StrategyDeps, Depends(strategy_deps)]
JsonBody = Annotated[Any, Body()]


@router.get("/connections/{connection_id}/strategies", response_model=StrategyListOut)
async def list_strategies(connection_id: str, caller: Caller, deps: Wired) -> StrategyListOut:
    """The connection's strategies with their status, oldest first."""
    found = await handlers.list_strategies(connection_id, caller.user_id, deps)
    return StrategyListOut(strategies=[strategy_out(spec, view) for spec, view in found])


@router.post("/connections/{connection_id}/strategies", status_code=201, response_model=StrategyOut)
async def enable(connection_id: str, body: JsonBody, caller: Caller, deps: Wired, response: Response) -> StrategyOut:
    """Enable a strategy on an Online connection; omitted fields take the risk level's preset."""
    spec, view = await handlers.enable_strategy(connection_id, body, caller.user_id, deps)
    response.headers["Location"] = f"/api/v1/strategies/{spec.strategy_id}"
    return strategy_out(spec, view)


@router.get("/strategies/{strategy_id}", response_model=StrategyOut)
async def get_one(strategy_id: str, caller: Caller, deps: Wired) -> StrategyOut:
    """One strategy with its live figures."""
    spec, view = await handlers.get_strategy(strategy_id, caller.user_id, deps)
    return strategy_out(spec, view)


@router.patch("/strategies/{strategy_id}", response_model=StrategyOut)
async def update(strategy_id: str, body: JsonBody, caller: Caller, deps: Wired) -> StrategyOut:
    """Change parameters, rename, or pause/resume (``{"paused": true}``)."""
    spec, view = await handlers.update_strategy(strategy_id, body, caller.user_id, deps)
    return strategy_out(spec, view)


@router.delete("/strategies/{strategy_id}", status_code=204)
async def disable(strategy_id: str, caller: Caller, deps: Wired) -> Response:
    """Disable: open orders are cancelled, positions stay with the user. Idempotent."""
    await handlers.disable_strategy(strategy_id, caller.user_id, deps)
    return Response(status_code=204)
