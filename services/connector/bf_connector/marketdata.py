"""Market data and trading rules for the strategy runners, from public ccxt clients.

* **markets** (request/reply ``bf.rpc.connector.<ex>.markets``): the exchange's tradable
  symbols with their steps and minimums, from ``load_markets`` on a credential-less client,
  cached for ``md_markets_ttl_s``.
* **ticks**: runners announce which symbols they need (``md_interest``, re-sent every few
  seconds, forgotten when not renewed). Every ``md_poll_s`` this process fetches the last
  price of *all* wanted symbols of a market in one ``fetch_tickers`` call and publishes one
  :class:`~bf_shared.strategy_messages.Tick` per symbol on core NATS: an exchange/symbol is
  polled once however many strategies and runners trade it.

Several replicas of one exchange's connector would each poll (interest reaches them all);
the design runs one connector per exchange, so that costs nothing today.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
from faststream.nats import NatsBroker
from pydantic import Field, SecretStr

from bf_shared import subjects
from bf_shared.settings import ServiceSettings
from bf_shared.strategy import Market
from bf_shared.strategy_messages import MarketDataInterest, MarketRules, MarketsReply, MarketsRequest, OrderError, Tick
from bf_shared.vault import Credentials

from bf_connector.exchanges.base import ClientOptions, Venue, build_client

log = logging.getLogger(__name__)


class MarketDataSettings(ServiceSettings):
    """``BACKFUTURE_MD_*`` settings of the connector's market data."""

    md_poll_s: float = Field(1.0, gt=0, description="How often wanted symbols are polled")
    md_markets_ttl_s: float = Field(600.0, gt=0, description="How long the market list is cached")


def _step(client: ccxt_async.Exchange, value: Any) -> Decimal | None:
    if value is None:
        return None
    if client.precisionMode == ccxt.TICK_SIZE:
        return Decimal(str(value))
    return Decimal(1).scaleb(-int(value))  # DECIMAL_PLACES: digits after the point


def market_rules(client: ccxt_async.Exchange, market: Market) -> tuple[MarketRules, ...]:
    """Rules of every active market of one kind, from the client's loaded markets."""
    out = []
    for m in client.markets.values():
        if market == "spot" and not m.get("spot"):
            continue
        if market == "futures" and not (m.get("swap") and m.get("linear")):
            continue
        amount_step = _step(client, (m.get("precision") or {}).get("amount"))
        price_step = _step(client, (m.get("precision") or {}).get("price"))
        if not amount_step or not price_step:
            continue
        limits = m.get("limits") or {}
        min_amount = (limits.get("amount") or {}).get("min")
        min_cost = (limits.get("cost") or {}).get("min")
        out.append(MarketRules(
            symbol=m["symbol"], pair=f"{m['base']}/{m['quote']}", base=m["base"], quote=m["quote"], market=market,
            amount_step=amount_step, price_step=price_step,
            min_amount=Decimal(str(min_amount)) if min_amount is not None else amount_step,
            min_cost=Decimal(str(min_cost)) if min_cost is not None else Decimal(0),
            contract_size=Decimal(str(m.get("contractSize") or 1)), active=m.get("active") is not False,
        ))
    return tuple(out)


class MarketData:
    """Public clients of one venue, the interest table and the polling loop."""

    def __init__(self, venue: Venue, options: ClientOptions, settings: MarketDataSettings) -> None:
        self.venue = venue
        self.settings = settings
        anonymous = Credentials(api_key=SecretStr(""), secret=SecretStr(""))
        self._clients: dict[Market, ccxt_async.Exchange] = {
            "spot": build_client(venue.spot_class, anonymous, options, ccxt_options=venue.ccxt_options),
        }
        if venue.capabilities.futures:
            cls = venue.futures_class or venue.spot_class
            self._clients["futures"] = (self._clients["spot"] if cls is venue.spot_class else
                                        build_client(cls, anonymous, options, ccxt_options=venue.ccxt_options))
        self._loaded: dict[Market, float] = {}
        self._lock = asyncio.Lock()
        self.interest: dict[tuple[Market, str], float] = {}  # (market, symbol) -> expiry (monotonic)
        self._broker: NatsBroker | None = None
        self._task: asyncio.Task[None] | None = None

    async def rules(self, market: Market) -> tuple[MarketRules, ...]:
        """Tradable symbols of ``market`` (loads or refreshes the markets when stale)."""
        client = self._clients.get(market)
        if client is None:
            return ()
        async with self._lock:
            loaded = self._loaded.get(market)
            if loaded is None or time.monotonic() - loaded > self.settings.md_markets_ttl_s:
                await client.load_markets(reload=loaded is not None)
                self._loaded[market] = time.monotonic()
        return market_rules(client, market)

    async def handle_markets(self, request: MarketsRequest) -> MarketsReply:
        """Answer a markets request; never raises."""
        try:
            found = await self.rules(request.market)
        except Exception as e:  # the exchange is down or throttling: the caller retries later
            log.warning("markets of %s %s unavailable: %s", self.venue.id, request.market, type(e).__name__)
            return MarketsReply(exchange=self.venue.id, market=request.market,
                                error=OrderError(code="exchange_unavailable", retryable=True, detail=type(e).__name__))
        return MarketsReply(exchange=self.venue.id, market=request.market, markets=found)

    def on_interest(self, interest: MarketDataInterest) -> None:
        """A runner needs these symbols for the next ``ttl_s`` seconds."""
        if interest.exchange != self.venue.id or interest.market not in self._clients:
            return
        until = time.monotonic() + interest.ttl_s
        for symbol in interest.symbols:
            self.interest[(interest.market, symbol)] = max(until, self.interest.get((interest.market, symbol), 0))

    def wanted(self) -> dict[Market, list[str]]:
        """Symbols someone still needs, per market; forgets expired interest."""
        now = time.monotonic()
        out: dict[Market, list[str]] = {}
        for (market, symbol), until in list(self.interest.items()):
            if until < now:
                del self.interest[(market, symbol)]
            else:
                out.setdefault(market, []).append(symbol)
        return out

    async def poll_once(self) -> int:
        """Fetch every wanted symbol (one call per market) and publish the ticks; returns how many."""
        assert self._broker is not None
        published = 0
        for market, symbols in self.wanted().items():
            client = self._clients[market]
            try:
                if market not in self._loaded:
                    await self.rules(market)
                tickers = await client.fetch_tickers(sorted(symbols))
            except Exception as e:
                log.warning("tickers of %s %s unavailable: %s", self.venue.id, market, type(e).__name__)
                continue
            for symbol in symbols:
                ticker = tickers.get(symbol) or {}
                last = ticker.get("last") or ticker.get("close")
                if last is None or float(last) <= 0:
                    continue
                tick = Tick(exchange=self.venue.id, market=market, symbol=symbol, last=Decimal(str(last)),
                            bid=Decimal(str(ticker["bid"])) if ticker.get("bid") else None,
                            ask=Decimal(str(ticker["ask"])) if ticker.get("ask") else None,
                            ts_ms=int(ticker.get("timestamp") or time.time() * 1000))
                await self._broker.publish(tick.model_dump_json().encode(), subjects.ticks_subject(self.venue.id, symbol))
                published += 1
        return published

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.poll_once()
            except Exception:  # never let one bad round stop the feed
                log.exception("market data round failed")
            await asyncio.sleep(max(0.05, self.settings.md_poll_s - (time.monotonic() - started)))

    async def start(self, broker: NatsBroker) -> None:
        """Begin polling (call after the broker is connected)."""
        self._broker = broker
        self._task = asyncio.create_task(self._loop(), name=f"md-{self.venue.id}")

    async def stop(self) -> None:
        """Stop polling and close the public clients."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for client in {id(c): c for c in self._clients.values()}.values():
            try:
                await client.close()
            except Exception:
                log.warning("closing a public %s client failed", self.venue.id)


def register(broker: NatsBroker, md: MarketData) -> None:
    """Attach the markets responder and the interest listener to ``broker`` (before it starts)."""
    exchange = md.venue.id

    @broker.subscriber(subjects.markets_subject(exchange), queue=subjects.CONNECTOR_QUEUE)
    async def on_markets(request: MarketsRequest) -> MarketsReply:
        return await md.handle_markets(request)

    @broker.subscriber(subjects.md_interest_subject(exchange))
    async def on_interest(interest: MarketDataInterest) -> None:
        md.on_interest(interest)
