"""KuCoin's futures test order runs against the simulator: the contract's rules come from
``GET /api/v1/contracts/{symbol}``, and the order's answer is evidence for the futures right."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_shared.messages import ProbeName, ProbeReply, ProbeRequest
from bf_shared.vault import Credentials, FakeVault
from bf_sim import SimServer, demo_config

from bf_connector.clock import SystemClock
from bf_connector.exchanges import venue_for
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.exchanges.kucoin import PROBE_CONTRACT
from bf_connector.handlers import handle_probe
from bf_connector.metrics import ConnectorMetrics


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(demo_config()) as server:
        yield server


async def _probe(sim: SimServer, label: str) -> ProbeReply:
    key = next(k for k in sim.config.kucoin.keys if k.label == label)
    vault = FakeVault()
    await vault.put("conn1", Credentials(api_key=SecretStr(key.api_key), secret=key.secret, passphrase=key.passphrase))
    clients = ClientFactory(
        venue_for("kucoin"),
        ClientOptions(enable_rate_limit=False, timeout_s=5.0, origin=sim.kucoin_url),
        metrics=ConnectorMetrics(CollectorRegistry()),
        clock=SystemClock(),
    )
    try:
        return await handle_probe(
            ProbeRequest(test_id="t1", connection_id="conn1", exchange="kucoin", markets=("spot", "futures")),
            reader=vault,
            clients=clients,
            clock=SystemClock(),
            timeout_s=5.0,
        )
    finally:
        await clients.aclose()


async def test_the_contract_endpoint_answers_one_contract_and_refuses_an_unknown_one(sim: SimServer) -> None:
    async with aiohttp.ClientSession(sim.kucoin_url) as http:
        async with http.get(f"/api/v1/contracts/{PROBE_CONTRACT}") as r:
            body = await r.json()
        async with http.get("/api/v1/contracts/NOSUCHUSDTM") as unknown:
            refused = await unknown.json()
    assert r.status == 200 and body["code"] == "200000"
    contract = body["data"]
    assert contract["symbol"] == PROBE_CONTRACT
    assert contract["lotSize"] > 0 and contract["tickSize"] > 0 and contract["lastTradePrice"] > 0
    assert unknown.status == 400 and refused["code"] == "400100"


async def test_a_futures_key_passes_the_futures_test_order(sim: SimServer) -> None:
    reply = await _probe(sim, "kucoin-trade-ip")

    assert all(o.ok for o in reply.outcomes), reply.outcomes
    assert reply.key.permissions.futures is True
    tests = [(r.path, r.status) for r in sim.kucoin.requests if r.method == "POST" and r.path == "/api/v1/orders/test"]
    assert tests == [("/api/v1/orders/test", 200)], "the futures test order was sent and accepted"


async def test_a_key_without_futures_rights_is_refused_the_futures_test_order(sim: SimServer) -> None:
    reply = await _probe(sim, "kucoin-no-futures")

    assert reply.key.permissions.futures is False
    assert next(o for o in reply.outcomes if o.name == ProbeName.FUTURES_BALANCE).ok, "the balance is still readable"
    tests = [r.status for r in sim.kucoin.requests if r.method == "POST" and r.path == "/api/v1/orders/test"]
    assert tests == [403], "refused for its missing right, not for a missing contract"
