"""KuCoin: spot and futures on one simulator origin.

ccxt's ``kucoin`` (spot) and ``kucoinfutures`` both talk to this origin. Where their paths
collide (``/api/v1/orders``, ``/api/v1/orders/test``, ...), the symbol decides: futures
contract ids end in ``M`` (``XBTUSDTM``), spot ids have a dash (``BTC-USDT``).
"""

from __future__ import annotations

from typing import Any

from bf_sim.kucoin import futures, spot
from bf_sim.kucoin.venue import VENUE
from bf_sim.routing import Ctx, Endpoint, Venue


def is_futures_symbol(symbol: str | None) -> bool:
    """``XBTUSDTM`` yes, ``BTC-USDT`` no."""
    return bool(symbol) and "-" not in (symbol or "") and (symbol or "").endswith("M")


async def orders_test(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/orders/test``: futures test order, or the classic (non-HF) spot one."""
    if is_futures_symbol(ctx.param("symbol")):
        return await futures.order_test(ctx)
    return await spot.order_test(ctx)


def endpoints() -> list[Endpoint]:
    """Every KuCoin route the simulator serves."""
    shared = [
        Endpoint("POST", "/api/v1/orders/test", orders_test, VENUE, private=True, pool="futures", weight=2),
    ]
    return spot.endpoints() + futures.endpoints() + shared


def venue_for_path(path: str) -> Venue:
    """KuCoin has one wire convention for every path."""
    return VENUE
