"""An in-memory gateway for tests: every port faked, every fake reachable for assertions.

    gw = InMemoryGateway()
    app = create_app(gw.deps)                      # no server, no lifespan needed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c: ...
    gw.vault.versions, gw.connections_kv.data, gw.publisher.published  # what was stored and sent
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_shared.vault import FakeVault

from bf_gateway.adapters.live import LiveHub
from bf_gateway.adapters.memory import InMemoryKv, RecordingPublisher
from bf_gateway.adapters.passwords import Passwords
from bf_gateway.adapters.repositories import ConnectionStore, FingerprintStore, RevokedTokens, UserStore
from bf_gateway.adapters.tokens import TokenService
from bf_gateway.deps import Deps
from bf_gateway.domain.ratelimit import SlidingWindow
from bf_gateway.handlers.auth import AuthDeps
from bf_gateway.handlers.connections import ConnectionDeps
from bf_gateway.handlers.projector import ProjectorDeps
from bf_gateway.metrics import GatewayMetrics

TEST_JWT_SECRET = SecretStr("test-only-jwt-secret-0123456789abcdef")


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class SequentialIds:
    """Ids shaped like real ones (32 hex digits), numbered so tests can predict them."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{next(self._counter):032x}"


@dataclass
class InMemoryGateway:
    """The fakes and the :class:`Deps` built on them."""

    clock: ManualClock = field(default_factory=ManualClock)
    ids: SequentialIds = field(default_factory=SequentialIds)
    vault: FakeVault = field(default_factory=lambda: FakeVault(can_read=False))
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    users_kv: InMemoryKv = field(default_factory=InMemoryKv)
    connections_kv: InMemoryKv = field(default_factory=InMemoryKv)
    fingerprints_kv: InMemoryKv = field(default_factory=InMemoryKv)
    revoked_kv: InMemoryKv = field(default_factory=InMemoryKv)
    live: LiveHub = field(default_factory=LiveHub)
    egress_ips: tuple[str, ...] = ("203.0.113.10", "203.0.113.11")
    token_ttl: timedelta = timedelta(minutes=60)
    login_attempts: int = 5
    max_per_user: int = 100
    max_body_bytes: int = 16 * 1024

    def __post_init__(self) -> None:
        views = ConnectionStore(self.connections_kv)
        registry = CollectorRegistry()
        self.deps = Deps(
            auth=AuthDeps(
                users=UserStore(self.users_kv),
                revoked=RevokedTokens(self.revoked_kv),
                # Cheapest argon2id parameters: the tests check behaviour, not hashing cost.
                passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)),
                tokens=TokenService(TEST_JWT_SECRET, self.token_ttl, self.clock, self.ids),
                login_limiter=SlidingWindow(self.login_attempts, 300, self.clock.monotonic),
                clock=self.clock,
                new_id=self.ids,
            ),
            connections=ConnectionDeps(
                views=views,
                fingerprints=FingerprintStore(self.fingerprints_kv),
                vault=self.vault,
                publisher=self.publisher,
                clock=self.clock,
                new_id=self.ids,
                max_per_user=self.max_per_user,
            ),
            projector=ProjectorDeps(views=views, clock=self.clock),
            live=self.live,
            registry=registry,
            metrics=GatewayMetrics(registry),
            egress_ips=self.egress_ips,
            max_body_bytes=self.max_body_bytes,
        )

    def stored_bytes(self) -> bytes:
        """Everything in every KV bucket, concatenated: for "no secret stored" checks."""
        kvs = (self.users_kv, self.connections_kv, self.fingerprints_kv, self.revoked_kv)
        return b"\n".join(e.key.encode() + b"=" + e.value for kv in kvs for e in kv.data.values())
