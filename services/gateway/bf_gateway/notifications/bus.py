"""The NATS access of the notifications and audit routes, opened on first use.

These routes are additions to the gateway that reach two things the rest of the gateway
does not use (the ``bf_notifications`` bucket and the ``BF_AUDIT`` stream). They keep
their own small connection, opened lazily, so the gateway's start-up and its in-memory
test apps are unaffected, and closed by the routers' lifespan. Tests put prebuilt
dependencies on ``app.state.ops_routes`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
from fastapi import FastAPI, Request
from nats.aio.client import Client as NatsClient
from pydantic import Field

from bf_shared.bus import kv_bucket
from bf_shared.notifications import KV_NOTIFICATIONS
from bf_shared.settings import ServiceSettings

from bf_gateway.adapters.kv import KvStore, NatsKvStore
from bf_gateway.audit.reader import AuditReader, JetStreamAuditReader
from bf_gateway.domain.errors import Unavailable


class OpsRouteSettings(ServiceSettings):
    """Settings these routes read (prefix ``BACKFUTURE_``)."""

    allow_private_webhooks: bool = Field(
        False, description="Accept http:// and private/loopback webhook URLs (development and tests only)"
    )


@dataclass(frozen=True)
class OpsRouteDeps:
    """What the notifications and audit routes need."""

    notifications: KvStore
    audit: AuditReader
    allow_private_webhooks: bool = False


class _LazyBus:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._nc: NatsClient | None = None
        self._deps: OpsRouteDeps | None = None

    async def deps(self) -> OpsRouteDeps:
        async with self._lock:
            if self._deps is None:
                settings = OpsRouteSettings()
                try:
                    servers = [u.strip() for u in settings.nats_url.split(",") if u.strip()]
                    self._nc = await nats.connect(servers, name="gateway-ops-routes", connect_timeout=3,
                                                  max_reconnect_attempts=-1)
                    js = self._nc.jetstream()
                    kv = await kv_bucket(js, KV_NOTIFICATIONS, replicas=settings.stream_replicas)
                except Exception as e:
                    await self.close()
                    raise Unavailable(f"The settings store is unavailable ({type(e).__name__}); try again.") from None
                self._deps = OpsRouteDeps(NatsKvStore(kv), JetStreamAuditReader(js), settings.allow_private_webhooks)
            return self._deps

    async def close(self) -> None:
        nc, self._nc, self._deps = self._nc, None, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.drain()


_BUS_KEY = "ops_routes_bus"


async def ops_deps(request: Request) -> OpsRouteDeps:
    """Injected dependencies (tests) or the lazily connected real ones."""
    injected: Any = getattr(request.app.state, "ops_routes", None)
    if injected is not None:
        return injected  # type: ignore[no-any-return]
    bus: _LazyBus | None = getattr(request.app.state, _BUS_KEY, None)
    if bus is None:
        bus = _LazyBus()
        setattr(request.app.state, _BUS_KEY, bus)
    return await bus.deps()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Close the lazily opened connection when the gateway stops."""
    try:
        yield
    finally:
        bus: _LazyBus | None = getattr(app.state, _BUS_KEY, None)
        if bus is not None:
            await bus.close()
