"""Wiring: settings, the real adapters (opened in the app's lifespan), and the app factory.

``create_app()`` is the production app: its lifespan connects NATS (retried until it
answers), creates the streams, opens the KV buckets, starts the read-model projector and the
live feed, and logs in to Vault with the gateway's AppRole (retried in the background;
``/healthz`` answers 503 until it worked). ``create_app(deps)`` serves prebuilt
dependencies as they are, for tests (see :mod:`bf_gateway.testing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from faststream.nats import NatsBroker
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import Field, SecretStr, field_validator

from bf_shared import subjects
from bf_shared.bus import ensure_streams, kv_bucket, make_broker
from bf_shared.messages import new_id, utcnow
from bf_shared.settings import ServiceSettings, VaultSettings, egress_ips_from
from bf_shared.vault import HvacVault

from bf_gateway.adapters.kv import NatsKvStore
from bf_gateway.adapters.live import LiveHub, NatsLiveFeed
from bf_gateway.adapters.passwords import Passwords
from bf_gateway.adapters.publisher import NatsPublisher
from bf_gateway.adapters.repositories import ConnectionStore, FingerprintStore, RevokedTokens, UserStore
from bf_gateway.adapters.tokens import MIN_SECRET_LENGTH, TokenService
from bf_gateway.audit.router import router as audit_router
from bf_gateway.deps import DEFAULT_MAX_BODY_BYTES, Deps
from bf_gateway.domain.ratelimit import SlidingWindow
from bf_gateway.entrypoints import api_auth, api_connections, api_exchanges, api_live, errors, ops
from bf_gateway.entrypoints.consumers import register_projector
from bf_gateway.entrypoints.middleware import BodyLimit, HttpMetrics
from bf_gateway.handlers.auth import AuthDeps
from bf_gateway.handlers.connections import ConnectionDeps
from bf_gateway.handlers.projector import ProjectorDeps
from bf_gateway.metrics import GatewayMetrics
from bf_gateway.notifications.router import router as notifications_router
from bf_gateway.strategies import router as strategies_router
from bf_gateway.web.router import router as web_router

log = logging.getLogger(__name__)

#: Revocations outlive every token: the bucket keeps entries a day, tokens live at most that.
REVOCATION_TTL = timedelta(days=1)
_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class GatewaySettings(ServiceSettings):
    """``BACKFUTURE_*`` settings of the gateway (plus the shared ones)."""

    gateway_host: str = Field("127.0.0.1", description="Bind address of the HTTP API and dashboard")
    gateway_port: int = Field(8080, description="Port of the HTTP API, dashboard, /healthz and /metrics")
    jwt_secret: SecretStr = Field(SecretStr(""), description=f"HS256 key for access tokens (≥ {MIN_SECRET_LENGTH} chars)")
    token_ttl_minutes: int = Field(60, ge=1, le=int(REVOCATION_TTL.total_seconds() // 60), description="Access token lifetime")
    egress_ips: str = Field("", description="Comma-separated platform IPs users add to their keys' whitelist")
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024, description="Largest accepted request body")
    max_connections_per_user: int = Field(100, ge=1, description="Connections one user may have")
    login_attempts: int = Field(10, ge=1, description="Login attempts per email and client IP per window")
    login_window_s: float = Field(300.0, gt=0, description="Login rate-limit window (seconds)")

    @field_validator("jwt_secret")
    @classmethod
    def _strong_enough(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"BACKFUTURE_JWT_SECRET must be set, at least {MIN_SECRET_LENGTH} characters")
        return v


async def _connect(broker: NatsBroker) -> None:
    for attempt in range(1_000_000):
        try:
            await broker.connect()
            return
        except Exception as e:  # NATS may start after us
            log.warning("nats connect failed (%s); retrying", type(e).__name__)
            await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])


class _VaultLogin:
    """Logs in until it works; readiness waits for it (Vault may come up after us)."""

    def __init__(self, vault: HvacVault) -> None:
        self.ok = False
        self._vault = vault
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        attempt = 0
        while not self.ok:
            try:
                await self._vault.login()
                self.ok = True
                log.info("vault login ok")
            except Exception as e:
                log.warning("vault login failed (%s); retrying", type(e).__name__)
                await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                attempt += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def open_deps(
    settings: GatewaySettings,
    vault_settings: VaultSettings,
    metrics: GatewayMetrics,
    registry: CollectorRegistry = REGISTRY,
) -> AsyncIterator[Deps]:
    """Real dependencies, open for the duration of the context."""
    vault = HvacVault(vault_settings)
    login = _VaultLogin(vault)
    login.start()
    broker = make_broker(settings.nats_url, "gateway")
    feed: NatsLiveFeed | None = None
    started = False
    try:
        await _connect(broker)
        js = broker.connection.jetstream()
        await ensure_streams(js, settings.stream_replicas)
        replicas = settings.stream_replicas

        async def bucket(name: str, ttl: float | None = None) -> NatsKvStore:
            return NatsKvStore(await kv_bucket(js, name, ttl=ttl, replicas=replicas))

        views = ConnectionStore(await bucket(subjects.KV_CONNECTIONS))
        users = UserStore(await bucket(subjects.KV_USERS))
        fingerprints = FingerprintStore(await bucket(subjects.KV_FINGERPRINTS))
        revoked = RevokedTokens(await bucket(subjects.KV_REVOKED_TOKENS, ttl=REVOCATION_TTL.total_seconds()))
        live = LiveHub()

        async def ready() -> bool:
            return started and login.ok and await broker.ping(timeout=1.0)

        deps = Deps(
            auth=AuthDeps(
                users=users,
                revoked=revoked,
                passwords=Passwords(),
                tokens=TokenService(settings.jwt_secret, timedelta(minutes=settings.token_ttl_minutes), utcnow, new_id),
                login_limiter=SlidingWindow(settings.login_attempts, settings.login_window_s, time.monotonic),
                clock=utcnow,
                new_id=new_id,
            ),
            connections=ConnectionDeps(
                views=views,
                fingerprints=fingerprints,
                vault=vault,
                publisher=NatsPublisher(broker),
                clock=utcnow,
                new_id=new_id,
                max_per_user=settings.max_connections_per_user,
            ),
            projector=ProjectorDeps(views=views, clock=utcnow),
            live=live,
            registry=registry,
            metrics=metrics,
            egress_ips=egress_ips_from(settings.egress_ips),
            max_body_bytes=settings.max_body_bytes,
            ready=ready,
        )
        register_projector(broker, deps.projector, metrics)
        await broker.start()
        feed = NatsLiveFeed(broker.connection, live)
        await feed.start()
        started = True
        log.info("gateway connected: NATS, streams, KV buckets, projector, live feed")
        yield deps
    finally:
        started = False
        if feed is not None:
            await feed.stop()
        with contextlib.suppress(Exception):
            await broker.stop()
        await login.stop()


def create_app(
    deps: Deps | None = None,
    *,
    settings: GatewaySettings | None = None,
    vault_settings: VaultSettings | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    """The gateway's FastAPI app: real dependencies opened in the lifespan, or ``deps`` as given.

    ``settings``/``vault_settings`` default to the environment; ``registry`` lets a test run
    the real wiring more than once in one process.
    """
    if deps is None:
        real = settings or GatewaySettings()
        vault = vault_settings or VaultSettings()
        metrics = GatewayMetrics(registry)
        max_body = real.max_body_bytes

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with open_deps(real, vault, metrics, registry) as opened:
                app.state.deps = opened
                yield

    else:
        metrics, max_body = deps.metrics, deps.max_body_bytes

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            yield

    app = FastAPI(
        title="BackFuture Connect",
        summary="Exchange connections: keys in Vault, tested, never able to withdraw.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    if deps is not None:
        app.state.deps = deps
    errors.install(app)
    app.include_router(ops.router)
    app.include_router(api_auth.router)
    app.include_router(api_exchanges.router)
    app.include_router(api_connections.router)
    app.include_router(api_live.router)
    app.include_router(notifications_router)
    app.include_router(audit_router)
    app.include_router(strategies_router)
    app.include_router(web_router)
    # Added last = outermost: the metrics see every answer, 413s included.
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(HttpMetrics, metrics=metrics)
    return app
