"""Synthetic order books and 24 h statistics around the current price."""

from __future__ import annotations

from decimal import Decimal

from bf_sim.markets import bid_ask

DEPTH_LEVELS = 5


def depth(
    price: Decimal, tick: Decimal, base_size: Decimal, levels: int = DEPTH_LEVELS
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """(bids, asks): ``levels`` price levels one tick apart, best first, growing sizes."""
    bid, ask = bid_ask(price, tick)
    bids = [(bid - tick * i, base_size * (i + 1)) for i in range(levels) if bid - tick * i > 0]
    asks = [(ask + tick * i, base_size * (i + 1)) for i in range(levels)]
    return bids, asks


def book_size(price: Decimal) -> Decimal:
    """A plausible size per level: about 5000 USDT, at least 1 unit."""
    return max(Decimal(1), (Decimal(5000) / price).quantize(Decimal(1)))
