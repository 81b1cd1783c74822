"""How much of an exchange's rate limit periodic re-tests may use.

Each exchange has rate-limit pools (a weight limit per window); one test spends some weight
in each pool it touches. Figures from the exchanges' docs, as recorded in EXCHANGES.md:

* MEXC spot: 500 weight per 10 s *per endpoint*; a test calls ``GET /api/v3/account``
  (weight 10), ``GET /api/v3/exchangeInfo?symbol=`` (weight 10, per IP) and
  ``POST /api/v3/order/test`` (weight 1); the two weight-10 endpoints bind: 50 tests per 10 s.
* KuCoin (VIP0, per 30 s): Management pool 2000 with ``GET /api/v1/user/api-key`` = 20 plus
  ``GET /api/v1/accounts`` = 5 (80 tests; KuCoin files the account endpoints under
  "Management", https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-account-list-spot);
  Public pool 2000 per IP with ``market/stats`` = 15, ``symbols`` = 4, ``status`` = 3
  (90 tests); Spot pool 4000 with ``hf/orders/test`` = 1 plus ``hf/accounts/opened`` = 2
  (1333 tests). The Management pool binds.

The weights are those of a spot test (what most connections re-test); a futures market adds
calls to other pools (MEXC contract, KuCoin futures), each far from binding at these rates.
``bench/bench_probe_concurrency.py`` prices the calls one test really makes with the
simulator's per-endpoint table and flags any pool spent beyond ``fraction``.

All tests leave from the platform's few egress IPs, so the budget is treated as shared by
every key of an exchange (conservative where a limit is per account). Re-tests may use
``fraction`` of every pool; a token bucket enforces it. A bucket of capacity ``c``
refilling at ``r`` lets at most ``c + r * W`` tests through in any window ``W``, so for each
pool ``r = (fraction * tests_per_window - c) / W`` and the tightest pool wins: re-tests never
spend more than ``fraction`` of any pool window. The capacity is just large enough for one
scheduler tick's worth of tests (a capacity of one would cap the rate at one per tick).
User-initiated tests are not throttled here: they are rare and someone is waiting for them.
"""

from __future__ import annotations

import math

from pydantic import Field

from bf_shared.messages import Frozen


class RatePool(Frozen):
    """One rate-limit pool of an exchange and the weight one test spends in it."""

    name: str
    limit: int = Field(gt=0, description="Weight allowed per window")
    window_s: float = Field(gt=0)
    test_weight: int = Field(gt=0, description="Weight one connection test spends here")

    @property
    def tests_per_window(self) -> float:
        """Tests that would exhaust this pool in one window."""
        return self.limit / self.test_weight


#: Pools per exchange. Adding an exchange is one entry here.
POOLS: dict[str, tuple[RatePool, ...]] = {
    "mexc": (
        RatePool(name="spot GET /api/v3/account", limit=500, window_s=10, test_weight=10),
        RatePool(name="spot GET /api/v3/exchangeInfo", limit=500, window_s=10, test_weight=10),
        RatePool(name="spot POST /api/v3/order/test", limit=500, window_s=10, test_weight=1),
    ),
    "kucoin": (
        # user/api-key + accounts: both are Management endpoints.
        RatePool(name="management", limit=2000, window_s=30, test_weight=20 + 5),
        # market/stats + symbols + status (the probe's price, rules and exchange status).
        RatePool(name="public", limit=2000, window_s=30, test_weight=15 + 4 + 3),
        # hf/orders/test + hf/accounts/opened.
        RatePool(name="spot", limit=4000, window_s=30, test_weight=1 + 2),
    ),
}

#: For an exchange without documented limits: 20 tests a minute at most, until someone looks
#: its limits up and adds them above.
DEFAULT_POOLS: tuple[RatePool, ...] = (
    RatePool(name="undocumented", limit=20, window_s=60, test_weight=1),
)


def pools_for(exchange: str) -> tuple[RatePool, ...]:
    """The exchange's pools (conservative defaults when it has none on record)."""
    return POOLS.get(exchange, DEFAULT_POOLS)


class BucketShape(Frozen):
    """Capacity and refill rate of an exchange's re-test bucket."""

    capacity: float = Field(ge=1)
    rate_per_s: float = Field(gt=0)


def bucket_shape(exchange: str, fraction: float, tick_s: float = 1.0) -> BucketShape:
    """The bucket that keeps re-tests within ``fraction`` of every pool (see module docstring).

    A pool too small for the guarantee (under two tests per window at ``fraction``) still
    gets one test per window: a trickle, never a stall.
    """
    pools = pools_for(exchange)
    allowed = [fraction * p.tests_per_window for p in pools]
    nominal = min(a / p.window_s for a, p in zip(allowed, pools, strict=True))
    capacity = float(min(math.ceil(nominal * tick_s) + 1, max(math.floor(min(allowed) / 2), 1)))
    rate = min(max(a - capacity, 1.0) / p.window_s for a, p in zip(allowed, pools, strict=True))
    return BucketShape(capacity=capacity, rate_per_s=rate)


def retest_rate_per_s(exchange: str, fraction: float, tick_s: float = 1.0) -> float:
    """Re-tests per second the budget sustains in the long run."""
    return bucket_shape(exchange, fraction, tick_s).rate_per_s


class TokenBucket(Frozen):
    """A token bucket as a value: :meth:`take` returns the new bucket (pure)."""

    rate_per_s: float = Field(gt=0)
    capacity: float = Field(default=1.0, gt=0)
    tokens: float = 1.0
    updated_at_s: float = 0.0  # monotonic seconds

    @classmethod
    def for_exchange(cls, exchange: str, fraction: float, now_s: float, tick_s: float = 1.0) -> TokenBucket:
        """A full bucket shaped by :func:`bucket_shape`."""
        shape = bucket_shape(exchange, fraction, tick_s)
        return cls(rate_per_s=shape.rate_per_s, capacity=shape.capacity, tokens=shape.capacity, updated_at_s=now_s)

    def refilled(self, now_s: float) -> TokenBucket:
        """The bucket at ``now_s`` (time never runs backwards here)."""
        elapsed = max(0.0, now_s - self.updated_at_s)
        tokens = min(self.capacity, self.tokens + elapsed * self.rate_per_s)
        return self.model_copy(update={"tokens": tokens, "updated_at_s": max(now_s, self.updated_at_s)})

    def take(self, now_s: float) -> tuple[bool, TokenBucket]:
        """Spend one token if there is one: ``(taken, new bucket)``."""
        bucket = self.refilled(now_s)
        if bucket.tokens >= 1.0 - 1e-9:
            return True, bucket.model_copy(update={"tokens": bucket.tokens - 1.0})
        return False, bucket

    def wait_s(self, now_s: float) -> float:
        """Seconds until a token is available."""
        missing = 1.0 - self.refilled(now_s).tokens
        return max(0.0, missing / self.rate_per_s)


def max_connections_per_hour(
    exchange: str, interval_s: float, fraction: float = 0.5, tick_s: float = 1.0
) -> int:
    """How many Online connections the re-test budget sustains.

    Each connection is re-tested ``3600 / interval_s`` times an hour; the budget allows
    ``retest_rate_per_s * 3600`` re-tests an hour; the quotient is the number of connections
    whose periodic re-tests fit (e.g. MEXC, 6 h, 50 %, 1 s ticks: 2.1/s * 21600 s = 45360).
    """
    per_hour = retest_rate_per_s(exchange, fraction, tick_s) * 3600.0
    retests_per_connection_per_hour = 3600.0 / interval_s
    return math.floor(per_hour / retests_per_connection_per_hour + 1e-9)
