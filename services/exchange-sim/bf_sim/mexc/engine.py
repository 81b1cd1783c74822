"""The MEXC trading engine: fees, contract sizes and id format."""

from __future__ import annotations

from bf_sim import markets
from bf_sim.clock import Clock
from bf_sim.engine.orders import Engine, Fees
from bf_sim.engine.prices import PricePaths

# MEXC order ids are long decimal strings.
_ID_BASE = 710_000_000_000_000_000


def make_engine(prices: PricePaths, clock: Clock) -> Engine:
    """An engine with MEXC's conventions."""
    return Engine(
        prices,
        clock,
        spot_fees=Fees(markets.MEXC_SPOT_MAKER, markets.MEXC_SPOT_TAKER),
        futures_fees=Fees(markets.MEXC_SWAP_MAKER, markets.MEXC_SWAP_TAKER),
        contract_size=lambda a: a.contract_size,
        futures_tick=lambda a: a.futures_tick,
        id_format=lambda n: str(_ID_BASE + n),
        default_leverage=20,
    )
