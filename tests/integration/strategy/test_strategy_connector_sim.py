"""The connector's order and market-data calls through unmodified ccxt against the simulator.

The simulator runs in-process; credentials come from a fake Vault holding a demo key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_shared.messages import ConnectionVerdict, utcnow
from bf_shared.strategy_messages import MarketDataInterest, MarketsRequest, OrderReply, OrderRequest, Tick
from bf_shared.vault import Credentials, FakeVault

from bf_connector.clock import SystemClock
from bf_connector.exchanges import venue_for
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.marketdata import MarketData, MarketDataSettings
from bf_connector.metrics import ConnectorMetrics
from bf_connector.orders import handle_order
from bf_sim import SimServer, demo_config

LABELS = {"mexc": "mexc-trade-ip", "kucoin": "kucoin-trade-ip"}
SIM_SYMBOL = {"mexc": "BTCUSDT", "kucoin": "BTC-USDT"}


class PassedVerdicts:
    """Every key stored in ``vault`` passed its test (its latest version did): orders may go out."""

    loaded = True

    def __init__(self, vault: FakeVault) -> None:
        self.vault = vault

    def get(self, connection_id: str) -> ConnectionVerdict | None:
        latest = len(self.vault.versions.get(f"connections/{connection_id}", []))
        return ConnectionVerdict(connection_id=connection_id, test_id="t1", secret_version=latest, status="passed",
                                 decided_at=utcnow())

    async def refresh(self, connection_id: str) -> ConnectionVerdict | None:
        return self.get(connection_id)


class Venue:
    def __init__(self, sim: SimServer, exchange: str, session: aiohttp.ClientSession) -> None:
        self.exchange = exchange
        self.origin = sim.mexc_url if exchange == "mexc" else sim.kucoin_url
        self.session = session
        key = next(k for k in (*demo_config().mexc.keys, *demo_config().kucoin.keys) if k.label == LABELS[exchange])
        self.api_key = key.api_key
        self.vault = FakeVault()
        self.credentials = Credentials(api_key=SecretStr(key.api_key), secret=key.secret,
                                       passphrase=key.passphrase)
        self.options = ClientOptions(enable_rate_limit=False, timeout_s=5.0, origin=self.origin)
        self.clients = ClientFactory(venue_for(exchange), self.options, metrics=ConnectorMetrics(CollectorRegistry()),
                                     clock=SystemClock())

    async def order(self, action: str, cid: str, **kw: Any) -> OrderReply:
        request = OrderRequest(action=action, connection_id="conn1", exchange=self.exchange,  # type: ignore[arg-type]
                               market=kw.pop("market", "spot"), symbol=kw.pop("symbol", "BTC/USDT"),
                               client_order_id=cid, **kw)
        return await handle_order(request, reader=self.vault, clients=self.clients, clock=SystemClock(),
                                  verdicts=PassedVerdicts(self.vault))

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.origin + path, json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def sim_orders(self) -> list[dict[str, Any]]:
        return list((await self.admin("GET", f"/__sim/orders?api_key={self.api_key}"))["orders"])


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(demo_config()) as server:
        yield server


@pytest.fixture
async def venue(sim: SimServer) -> AsyncIterator[Callable[[str], Any]]:
    made: list[Venue] = []
    async with aiohttp.ClientSession() as session:
        async def make(exchange: str) -> Venue:
            v = Venue(sim, exchange, session)
            await v.vault.put("conn1", v.credentials)
            made.append(v)
            return v
        yield make
        for v in made:
            await v.clients.aclose()


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_a_limit_order_rests_fills_on_the_price_path_and_reports_its_fills(venue: Any, exchange: str) -> None:
    v = await venue(exchange)
    await v.admin("PUT", f"/__sim/prices/{SIM_SYMBOL[exchange]}", {"prices": [65000, 64000, 59000]})
    placed = await v.order("place", "bfcid0001", side="buy", type="limit", amount=Decimal("0.01"),
                           price=Decimal(60000))
    assert placed.ok and placed.order is not None, placed
    assert placed.order.status == "open" and placed.order.client_order_id == "bfcid0001"
    assert placed.order.filled == 0
    await v.admin("POST", "/__sim/advance", {"steps": 2})
    queried = await v.order("query", "bfcid0001")
    assert queried.ok and queried.order is not None
    assert queried.order.status == "closed" and queried.order.filled == Decimal("0.01")
    assert queried.order.cost == Decimal(600)


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_placing_the_same_client_id_twice_returns_the_first_order(venue: Any, exchange: str) -> None:
    v = await venue(exchange)
    first = await v.order("place", "bfdup0001", side="buy", type="limit", amount=Decimal("0.01"), price=Decimal(50000))
    again = await v.order("place", "bfdup0001", side="buy", type="limit", amount=Decimal("0.01"), price=Decimal(50000))
    assert first.ok and again.ok and first.order and again.order
    assert again.order.exchange_order_id == first.order.exchange_order_id
    assert len(await v.sim_orders()) == 1


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_cancel_returns_the_final_state_and_is_repeatable(venue: Any, exchange: str) -> None:
    v = await venue(exchange)
    await v.order("place", "bfcan0001", side="buy", type="limit", amount=Decimal("0.01"), price=Decimal(50000))
    cancelled = await v.order("cancel", "bfcan0001")
    assert cancelled.ok and cancelled.order is not None and cancelled.order.status == "canceled"
    again = await v.order("cancel", "bfcan0001")
    assert again.ok and again.order is not None and again.order.status == "canceled"
    missing = await v.order("cancel", "bfnever01")
    assert not missing.ok and missing.error is not None and missing.error.code == "order_not_found"


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_a_marketable_order_fills_at_once_and_the_reply_says_so(venue: Any, exchange: str) -> None:
    v = await venue(exchange)
    await v.admin("PUT", f"/__sim/prices/{SIM_SYMBOL[exchange]}", {"prices": [65000]})
    placed = await v.order("place", "bfmkt0001", side="buy", type="limit", amount=Decimal("0.001"),
                           price=Decimal(65400))
    assert placed.ok and placed.order is not None
    assert placed.order.status == "closed" and placed.order.filled == Decimal("0.001")
    assert placed.order.cost <= Decimal("65.4")


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_insufficient_funds_is_classified(venue: Any, exchange: str) -> None:
    v = await venue(exchange)
    reply = await v.order("place", "bfbig0001", side="buy", type="limit", amount=Decimal(5), price=Decimal(60000))
    assert not reply.ok and reply.error is not None
    assert reply.error.code == "insufficient_funds" and not reply.error.retryable
    assert await v.sim_orders() == []


async def test_a_deleted_connection_answers_invalid_key(venue: Any) -> None:
    v = await venue("mexc")
    await v.vault.destroy("conn1")
    reply = await v.order("query", "bfcid0001")
    assert not reply.ok and reply.error is not None and reply.error.code == "invalid_key"


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def publish(self, data: bytes, subject: str) -> None:
        self.sent.append((subject, data))


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_markets_and_ticks_for_every_wanted_symbol_in_one_poll(venue: Any, exchange: str) -> None:
    v = await venue(exchange)
    md = MarketData(venue_for(exchange), v.options, MarketDataSettings())
    try:
        reply = await md.handle_markets(MarketsRequest(exchange=exchange, market="spot"))
        assert reply.error is None
        btc = next(m for m in reply.markets if m.pair == "BTC/USDT")
        assert btc.symbol == "BTC/USDT" and btc.amount_step > 0 and btc.price_step > 0
        futures = await md.handle_markets(MarketsRequest(exchange=exchange, market="futures"))
        assert any(m.symbol == "BTC/USDT:USDT" for m in futures.markets)
        broker = RecordingBroker()
        md._broker = broker  # type: ignore[assignment]
        for runner in ("r1", "r2"):  # two runners want overlapping symbols
            md.on_interest(MarketDataInterest(runner_id=runner, exchange=exchange, market="spot",
                                              symbols=("BTC/USDT", "ETH/USDT")))
        assert await md.poll_once() == 2
        ticks = [Tick.model_validate_json(data) for _, data in broker.sent]
        assert {t.symbol for t in ticks} == {"BTC/USDT", "ETH/USDT"}
        assert all(t.last > 0 for t in ticks)
        assert sorted(s for s, _ in broker.sent) == [f"bf.md.{exchange}.BTC_USDT", f"bf.md.{exchange}.ETH_USDT"]
    finally:
        await md.stop()


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_futures_orders_by_client_id_place_dedup_and_cancel(venue: Any, exchange: str) -> None:
    v = await venue(exchange)
    common: dict[str, Any] = dict(market="futures", symbol="BTC/USDT:USDT")
    placed = await v.order("place", "bffut0001", side="buy", type="limit", amount=Decimal(1), price=Decimal(50000),
                           leverage=3, **common)
    assert placed.ok and placed.order is not None and placed.order.status == "open", placed
    again = await v.order("place", "bffut0001", side="buy", type="limit", amount=Decimal(1), price=Decimal(50000),
                          leverage=3, **common)
    assert again.ok and again.order is not None
    assert again.order.exchange_order_id == placed.order.exchange_order_id
    assert len(await v.sim_orders()) == 1
    cancelled = await v.order("cancel", "bffut0001", **common)
    assert cancelled.ok and cancelled.order is not None and cancelled.order.status == "canceled", cancelled


async def test_a_trade_only_mexc_key_can_place_orders(venue: Any) -> None:
    """Loading markets must not need the wallet permission a trade-only key lacks."""
    v = await venue("mexc")
    key = {"api_key": "tradeonly0001", "secret": "tradeonlysecret0001", "label": "trade-only",
           "permissions": ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "SPOT_DEAL_WRITE"],
           "balances": {"spot": {"USDT": "1000"}}}
    async with v.session.post(v.origin + "/__sim/keys", json=key) as resp:
        assert resp.status == 201, await resp.text()
    await v.vault.put("conn1", Credentials(api_key=SecretStr(key["api_key"]), secret=SecretStr(key["secret"])))
    v.clients.evict("conn1")
    placed = await v.order("place", "bftrade01", side="buy", type="limit", amount=Decimal("0.001"),
                           price=Decimal(50000))
    assert placed.ok and placed.order is not None and placed.order.status == "open", placed
