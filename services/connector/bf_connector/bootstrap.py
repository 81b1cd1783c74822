"""Wiring: the only place real clients are built. Connections open in :meth:`Connector.start`.

Start-up order: the ops server (``/healthz`` answers 503 until ready), a Vault login (retried
in the background until it works), NATS (retried until reachable), the streams
(:func:`bf_shared.bus.ensure_streams`), the watch of the connection verdicts (bucket
``bf_verdicts``), then the subscribers. Ready means NATS is connected, the Vault login worked
and the verdicts are loaded (orders are refused until they are). SIGTERM/SIGINT stop the subscribers, drain NATS and close every
exchange client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from faststream.nats import NatsBroker
from prometheus_client import REGISTRY, CollectorRegistry

from bf_shared import subjects
from bf_shared.bus import ensure_streams, kv_bucket, make_broker
from bf_shared.ops import OpsServer
from bf_shared.settings import VaultSettings, exchange_url_override
from bf_shared.vault import HvacVault, SecretReader

from bf_connector import marketdata, orders
from bf_connector.adapters.kv_verdicts import KvVerdicts
from bf_connector.clock import Clock, SystemClock
from bf_connector.entrypoints.nats import Dependencies, register
from bf_connector.exchanges import venue_for
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.marketdata import MarketData, MarketDataSettings
from bf_connector.metrics import ConnectorMetrics
from bf_connector.settings import ConnectorSettings

log = logging.getLogger(__name__)

_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class Connector:
    """One connector process for ``settings.exchange``."""

    def __init__(
        self,
        settings: ConnectorSettings,
        vault_settings: VaultSettings,
        *,
        clock: Clock | None = None,
        registry: CollectorRegistry = REGISTRY,
        reader: SecretReader | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.venue = venue_for(settings.exchange)
        self._vault = HvacVault(vault_settings) if reader is None else None
        self.reader: SecretReader = reader if reader is not None else self._vault  # type: ignore[assignment]
        self._vault_ok = reader is not None  # an injected reader needs no login
        self.metrics = ConnectorMetrics(registry)
        options = ClientOptions(
            enable_rate_limit=settings.enable_rate_limit,
            timeout_s=settings.request_timeout_s,
            origin=exchange_url_override(settings.exchange),
        )
        self.clients = ClientFactory(
            self.venue,
            options,
            metrics=self.metrics,
            clock=self.clock,
            ttl_s=settings.client_ttl_s,
            max_size=settings.client_cache_size,
        )
        self.broker: NatsBroker = make_broker(settings.nats_url, f"connector-{settings.exchange}")
        register(
            self.broker,
            Dependencies(
                reader=self.reader,
                clients=self.clients,
                clock=self.clock,
                metrics=self.metrics,
                probe_timeout_s=settings.probe_timeout_s,
                probe_concurrency=settings.probe_concurrency,
            ),
        )
        self.verdicts = KvVerdicts()
        orders.register(self.broker, reader=self.reader, clients=self.clients, clock=self.clock,
                        verdicts=self.verdicts, metrics=self.metrics)
        self.market_data = MarketData(self.venue, options, MarketDataSettings())
        marketdata.register(self.broker, self.market_data)
        self.ops = OpsServer(settings.ops_host, settings.ops_port, self.ready, registry)
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    async def ready(self) -> bool:
        """NATS connected, Vault login done, and the connection verdicts loaded."""
        return self._started and self._vault_ok and self.verdicts.loaded and await self.broker.ping(timeout=1.0)

    async def _login_vault(self) -> None:
        attempt = 0
        while self._vault is not None and not self._vault_ok:
            try:
                await self._vault.login()
                self._vault_ok = True
                log.info("vault login ok")
            except Exception as e:  # keep trying: Vault may start after us
                log.warning("vault login failed (%s); retrying", type(e).__name__)
                await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                attempt += 1

    async def _connect_nats(self) -> None:
        attempt = 0
        while True:
            try:
                await self.broker.connect()
                return
            except Exception as e:  # NATS may start after us
                log.warning("nats connect failed (%s); retrying", type(e).__name__)
                await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                attempt += 1

    async def start(self) -> None:
        """Open every connection; returns once the subscribers run (Vault may still be pending)."""
        port = await self.ops.start()
        log.info("connector for %s: ops on port %d", self.venue.id, port)
        login = asyncio.create_task(self._login_vault())
        self._tasks.add(login)
        login.add_done_callback(self._tasks.discard)
        await self._connect_nats()
        js = self.broker.connection.jetstream()
        await ensure_streams(js, self.settings.stream_replicas)
        # Watched before orders are answered; until its snapshot is in, placements are refused.
        await self.verdicts.start(await kv_bucket(js, subjects.KV_VERDICTS, replicas=self.settings.stream_replicas))
        await self.broker.start()
        await self.market_data.start(self.broker)
        self._started = True
        log.info("connector for %s started", self.venue.id)

    async def stop(self) -> None:
        """Stop subscribers, drain NATS, close exchange clients and the ops server."""
        self._started = False
        for task in list(self._tasks):
            task.cancel()
        await self.market_data.stop()
        await self.verdicts.stop()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        await self.clients.aclose()
        await self.ops.stop()
        log.info("connector for %s stopped", self.venue.id)


async def serve(settings: ConnectorSettings, vault_settings: VaultSettings) -> None:
    """Run until SIGTERM or SIGINT."""
    connector = Connector(settings, vault_settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(connector.start())
    waiting = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            starting.result()  # a start-up failure ends the process with its error
            await waiting
    finally:
        for task in (starting, waiting):
            task.cancel()
        await asyncio.gather(starting, waiting, return_exceptions=True)
        await connector.stop()
