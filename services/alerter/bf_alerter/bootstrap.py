"""Wiring of the alerter: the only place that reads settings and opens connections.

Start-up order: connect to NATS, ensure the streams, open the KV buckets, build the
channels (webhook, log, and Telegram when a bot token is set), register the consumers,
start them, then answer ``/healthz``. SIGTERM/SIGINT stop the consumers (in-flight
messages finish or are redelivered), close HTTP sessions and drain NATS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient

from bf_shared.bus import ensure_streams, kv_bucket, make_broker
from bf_shared.logs import configure_logging, register_secret
from bf_shared.notifications import KV_NOTIFICATIONS
from bf_shared.ops import OpsServer

from bf_alerter.adapters.kv import (
    KV_ALERTER,
    KV_DEAD_LETTERS,
    KV_LEDGER,
    JetStreamAuditSink,
    KvLedger,
    KvSettingsStore,
    KvStateStore,
)
from bf_alerter.adapters.log_channel import LogChannel
from bf_alerter.adapters.retry import RetryPolicy
from bf_alerter.adapters.telegram import TelegramChannel
from bf_alerter.adapters.webhook import WebhookChannel
from bf_alerter.entrypoints.subscribers import register
from bf_alerter.handlers import AlertDeps
from bf_alerter.ports import Channel
from bf_alerter.settings import AlerterSettings

log = logging.getLogger("bf.alerter")
DAY = 86400.0


async def _connect(broker: NatsBroker) -> NatsClient:
    """Connect, retrying while NATS is not up yet (containers start in any order)."""
    delays = (0.5, 1.0, 2.0, 5.0)
    attempt = 0
    while True:
        try:
            return await broker.connect()
        except Exception as e:
            log.warning("nats connect failed (%s); retrying", type(e).__name__)
            await asyncio.sleep(delays[min(attempt, len(delays) - 1)])
            attempt += 1


@dataclass
class Alerter:
    """A running alerter; :meth:`start` and :meth:`stop` are its lifespan."""

    settings: AlerterSettings
    broker: NatsBroker | None = None
    ops: OpsServer | None = None
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    started: bool = False

    async def ready(self) -> bool:
        return self.started and self.broker is not None and await self.broker.ping(timeout=1.0)

    async def start(self) -> int:
        """Connect, wire and start consuming; returns the ops port."""
        s = self.settings
        self.ops = OpsServer(s.ops_host, s.ops_port, self.ready)
        port = await self.ops.start()
        self.broker = make_broker(s.nats_url, "alerter")
        nc = await _connect(self.broker)
        js = nc.jetstream()
        await ensure_streams(js, s.stream_replicas)
        replicas = s.stream_replicas
        state_kv = await kv_bucket(js, KV_ALERTER, replicas=replicas)
        ledger_kv = await kv_bucket(js, KV_LEDGER, ttl=s.ledger_ttl_days * DAY, replicas=replicas)
        dead_kv = await kv_bucket(js, KV_DEAD_LETTERS, history=1, replicas=replicas)
        settings_kv = await kv_bucket(js, KV_NOTIFICATIONS, replicas=replicas)

        policy = RetryPolicy(attempts=s.webhook_attempts, base_s=s.webhook_backoff_s, max_s=s.webhook_backoff_max_s)
        webhook_session = WebhookChannel.make_session(s.allow_private_webhooks)
        self.sessions.append(webhook_session)
        channels: list[Channel] = [
            LogChannel(),
            WebhookChannel(webhook_session, policy, timeout_s=s.webhook_timeout_s,
                           allow_private=s.allow_private_webhooks),
        ]
        token = s.telegram_bot_token.get_secret_value()
        if token:
            register_secret(token)
            telegram_session = aiohttp.ClientSession()
            self.sessions.append(telegram_session)
            channels.append(TelegramChannel(telegram_session, s.telegram_bot_token, policy,
                                            api_url=s.telegram_api_url, timeout_s=s.webhook_timeout_s))
            log.info("Telegram delivery enabled")
        else:
            log.info("Telegram delivery disabled: BACKFUTURE_TELEGRAM_BOT_TOKEN is not set")
        if s.allow_private_webhooks:
            log.warning("webhooks to private and loopback addresses are allowed (development setting)")

        deps = AlertDeps(
            state=KvStateStore(state_kv),
            settings=KvSettingsStore(settings_kv),
            ledger=KvLedger(ledger_kv, dead_kv),
            channels=channels,
            clock=lambda: datetime.now(UTC),
            down_after=timedelta(minutes=s.exchange_down_minutes),
            max_age=timedelta(minutes=s.alert_max_age_minutes),
        )
        register(self.broker, deps, JetStreamAuditSink(js), ack_wait_s=s.ack_wait_s)
        await self.broker.start()
        self.started = True
        log.info("alerter started (ops port %d)", port)
        return port

    async def stop(self) -> None:
        """Stop consuming, close sessions and the NATS connection."""
        self.started = False
        if self.broker is not None:
            await self.broker.stop()
        for session in self.sessions:
            await session.close()
        self.sessions.clear()
        if self.ops is not None:
            await self.ops.stop()
        log.info("alerter stopped")


async def run(settings: AlerterSettings) -> None:
    """Run until SIGTERM or SIGINT."""
    alerter = Alerter(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await alerter.start()
        await stop.wait()
    finally:
        await alerter.stop()


def main() -> None:
    """Entry point of ``python -m bf_alerter``."""
    settings = AlerterSettings()
    configure_logging("alerter", settings.log_level, settings.log_json)
    asyncio.run(run(settings))
