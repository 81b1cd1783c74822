"""Everything the gateway's routes and consumers need, in one object built by bootstrap or tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from bf_gateway.adapters.live import LiveHub
from bf_gateway.handlers.auth import AuthDeps
from bf_gateway.handlers.connections import ConnectionDeps
from bf_gateway.handlers.projector import ProjectorDeps
from bf_gateway.metrics import GatewayMetrics

DEFAULT_MAX_BODY_BYTES = 16 * 1024


async def always_ready() -> bool:
    """Readiness of a gateway whose dependencies are in memory."""
    return True


@dataclass(frozen=True)
class Deps:
    """The wired gateway: handler dependencies plus what the HTTP layer itself uses."""

    auth: AuthDeps
    connections: ConnectionDeps
    projector: ProjectorDeps
    live: LiveHub
    registry: CollectorRegistry
    metrics: GatewayMetrics
    egress_ips: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    ready: Callable[[], Awaitable[bool]] = always_ready
