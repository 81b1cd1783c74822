"""The re-test budget covers the calls a test really makes.

The connector's probes run against the simulator; every request it logged is priced with the
simulator's table of each endpoint's documented rate-limit pool and weight. At the rate the
tester's budget allows, no pool may be spent beyond the budget fraction in its worst window
(the bucket's capacity plus its refill over the window). A probe that gains a call, or a
pool the budget forgets, fails here rather than on a real exchange.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_shared.messages import Market, ProbeRequest
from bf_shared.vault import Credentials, FakeVault
from bf_sim import SimServer, demo_config
from bf_sim import kucoin as sim_kucoin
from bf_sim import mexc as sim_mexc
from bf_sim.state import ExchangeState

from bf_connector.clock import SystemClock
from bf_connector.exchanges import venue_for
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.handlers import handle_probe
from bf_connector.metrics import ConnectorMetrics
from bf_tester.domain.budget import bucket_shape

FRACTION = 0.5
GOOD_KEY = {"mexc": "mexc-trade-ip", "kucoin": "kucoin-trade-ip"}


async def _spent_per_pool(sim: SimServer, exchange: str, markets: tuple[Market, ...]) -> dict[str, tuple[int, int, float]]:
    """``{pool: (weight one test spends, limit, window s)}`` from the simulator's request log."""
    state: ExchangeState = sim.states()[exchange]
    key = next(k for k in state.keys.values() if k.label == GOOD_KEY[exchange])
    vault = FakeVault()
    creds = Credentials(api_key=SecretStr(key.api_key), secret=key.config.secret, passphrase=key.config.passphrase)
    await vault.put("c1", creds)
    clients = ClientFactory(
        venue_for(exchange),
        ClientOptions(enable_rate_limit=False, timeout_s=5.0, origin=sim.mexc_url if exchange == "mexc" else sim.kucoin_url),
        metrics=ConnectorMetrics(CollectorRegistry()),
        clock=SystemClock(),
    )
    state.requests.clear()
    try:
        reply = await handle_probe(
            ProbeRequest(test_id="t1", connection_id="c1", exchange=exchange, markets=markets),
            reader=vault, clients=clients, clock=SystemClock(), timeout_s=5.0,
        )
    finally:
        await clients.aclose()
    assert all(o.ok for o in reply.outcomes), reply.outcomes
    table = [
        (ep, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", ep.path) + "$"))
        for ep in (sim_mexc if exchange == "mexc" else sim_kucoin).endpoints()
    ]
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for record in state.requests:
        ep = next(e for e, pattern in table if e.method == record.method and pattern.match(record.path))
        rule = ep.venue.rate_limit_rule(ep, key if ep.private else None, "127.0.0.1")
        assert rule is not None
        bucket, limit, window_ms = rule
        pool = bucket.split(":", 1)[1].rsplit(":", 1)[0]  # drop the exchange and the account/IP
        spent[pool][0] += ep.weight
        spent[pool][1:] = [limit, window_ms / 1000]
    assert spent, "the simulator logged the test's calls"
    return {pool: (int(w), int(limit), window) for pool, (w, limit, window) in spent.items()}


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_no_pool_is_spent_beyond_the_budget_fraction_by_spot_retests(exchange: str) -> None:
    async with SimServer(demo_config()) as sim:
        spent = await _spent_per_pool(sim, exchange, ("spot",))
    shape = bucket_shape(exchange, FRACTION)
    shares = {
        pool: (shape.capacity + shape.rate_per_s * window) * weight / limit
        for pool, (weight, limit, window) in spent.items()
    }
    over = {pool: f"{share:.0%}" for pool, share in shares.items() if share > FRACTION + 1e-9}
    assert over == {}, f"re-tests at the budgeted rate would spend these pools beyond {FRACTION:.0%}: {over}"
    # The check has teeth: the binding pool is used up to the fraction, not far below it.
    assert max(shares.values()) > FRACTION * 0.9
