"""MEXC: spot v3 (``/api/v3/...``) and futures (``/api/v1/contract/...``, ``/api/v1/private/...``) on one origin."""

from __future__ import annotations

from bf_sim.mexc import contract, contract_trading, spot, spot_trading
from bf_sim.mexc.engine import make_engine
from bf_sim.routing import Endpoint, Venue

__all__ = ["endpoints", "make_engine", "venue_for_path"]


def endpoints() -> list[Endpoint]:
    """Every MEXC route the simulator serves."""
    return spot.endpoints() + spot_trading.endpoints() + contract.endpoints() + contract_trading.endpoints()


def venue_for_path(path: str) -> Venue:
    """Which API family answers an unknown or refused request on ``path``."""
    if path.startswith(("/api/v1/contract", "/api/v1/private")):
        return contract.VENUE
    return spot.VENUE
