"""The KuCoin trading engine: fees, lot multipliers and id format."""

from __future__ import annotations

from bf_sim import markets
from bf_sim.clock import Clock
from bf_sim.engine.orders import Engine, Fees
from bf_sim.engine.prices import PricePaths


def _object_id(n: int) -> str:
    """KuCoin ids are 24 hex digits (Mongo object ids)."""
    return f"6600{n:020x}"


def make_engine(prices: PricePaths, clock: Clock) -> Engine:
    """An engine with KuCoin's conventions."""
    return Engine(
        prices,
        clock,
        spot_fees=Fees(markets.KUCOIN_SPOT_MAKER, markets.KUCOIN_SPOT_TAKER),
        futures_fees=Fees(markets.KUCOIN_SWAP_MAKER, markets.KUCOIN_SWAP_TAKER),
        contract_size=lambda a: a.kucoin_multiplier,
        futures_tick=lambda a: a.futures_tick,
        id_format=_object_id,
        default_leverage=5,
    )
