"""Per-asset price paths: a seeded random walk, or a scripted list set through the admin API.

Prices move only when told to (``advance``), so tests are deterministic; the CLI can tick
them on a timer for a livelier local system.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from bf_sim import markets

# Standard deviation of one random-walk step, as a fraction of the price.
STEP_VOLATILITY = 0.002


class PricePaths:
    """The current price of every asset and how it moves."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._prices: dict[str, Decimal] = {}
        self._scripts: dict[str, list[Decimal]] = {}
        self._rngs: dict[str, random.Random] = {}
        self.step_count = 0
        self.reset()

    def reset(self) -> None:
        """Back to the reference prices and a fresh walk from the seed; scripts are dropped."""
        self._prices = {a.code: a.price for a in markets.ASSETS}
        self._scripts.clear()
        self._rngs = {a.code: random.Random(f"{self._seed}:{a.code}") for a in markets.ASSETS}
        self.step_count = 0

    def price(self, code: str) -> Decimal:
        """The current price of ``code`` in USDT."""
        return self._prices[code]

    def all(self) -> dict[str, Decimal]:
        """Every current price."""
        return dict(self._prices)

    def script(self, code: str, prices: Sequence[Decimal]) -> None:
        """Follow ``prices`` from now on: the first is current, each ``advance`` takes the next."""
        if code not in self._prices:
            raise KeyError(code)
        if not prices or any(p <= 0 for p in prices):
            raise ValueError("a scripted path needs at least one positive price")
        self._prices[code] = Decimal(prices[0])
        self._scripts[code] = [Decimal(p) for p in prices[1:]]

    def scripted(self, code: str) -> bool:
        """Whether ``code`` follows a script (it then stays at its last price)."""
        return code in self._scripts

    def advance(self, steps: int = 1) -> None:
        """Move every asset ``steps`` steps along its path."""
        for _ in range(steps):
            self.step_count += 1
            for asset in markets.ASSETS:
                code = asset.code
                if code in self._scripts:
                    if self._scripts[code]:
                        self._prices[code] = self._scripts[code].pop(0)
                    continue
                change = Decimal(repr(self._rngs[code].gauss(0.0, STEP_VOLATILITY)))
                moved = self._prices[code] * (1 + change)
                tick = markets.step(asset.price_decimals)
                self._prices[code] = max(tick, moved.quantize(tick, rounding=ROUND_HALF_UP))
