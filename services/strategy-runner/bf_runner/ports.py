"""The runner's ports: what its handlers need from the world, as small protocols.

Adapters (NATS KV, NATS request/reply, Prometheus) implement them in ``adapters/``; unit
tests use hand-written fakes.
"""

from __future__ import annotations

from typing import Protocol

from bf_shared.messages import Message
from bf_shared.strategy import Market
from bf_shared.strategy_messages import MarketRules, OrderReply, OrderRequest, StrategySpec, StrategyStatusView

from bf_runner.domain.connections import ConnectionState
from bf_runner.domain.leases import Claim, Session
from bf_runner.domain.model import StrategyState


class Clock(Protocol):
    def now_ms(self) -> int:
        """Wall-clock milliseconds since the epoch."""
        ...


class StaleRevision(Exception):
    """A compare-and-set lost: someone else wrote the key since we read it."""


class StrategyStore(Protocol):
    """Bucket ``bf_strategies``: specs (gateway), runtime states and status views (runner)."""

    async def load_state(self, strategy_id: str) -> tuple[StrategyState, int] | None:
        """The persisted state and its revision, or None for a strategy never run."""
        ...

    async def save_state(self, state: StrategyState, revision: int | None) -> int:
        """Compare-and-set (``None``: must not exist yet); raises :class:`StaleRevision`."""
        ...

    async def save_status(self, view: StrategyStatusView) -> None:
        """Publish the runtime status for the dashboard (last writer wins)."""
        ...

    async def connection_state(self, connection_id: str) -> ConnectionState | None:
        """What the runners last learned about a connection (None: nothing yet)."""
        ...


class LeaseStore(Protocol):
    """Bucket ``bf_leases``: runner sessions and strategy claims (compare-and-set)."""

    async def put_session(self, session: Session, revision: int | None) -> int:
        """Create (``None``) or renew a session; raises :class:`StaleRevision`."""
        ...

    async def delete_session(self, runner_id: str, revision: int) -> None:
        """Remove a session (own on shutdown, or an expired one)."""
        ...

    async def put_claim(self, strategy_id: str, claim: Claim, revision: int | None) -> int:
        """Create (``None``) or take over a claim; raises :class:`StaleRevision`."""
        ...

    async def delete_claim(self, strategy_id: str, revision: int) -> None:
        """Release a claim; raises :class:`StaleRevision` if it changed hands."""
        ...


class ConnectorPort(Protocol):
    """Request/reply to an exchange's connector."""

    async def order(self, request: OrderRequest, timeout_s: float) -> OrderReply:
        """Send an order call; raises :class:`ConnectorUnavailable` on timeout/no responder."""
        ...

    async def markets(self, exchange: str, market: Market, timeout_s: float) -> tuple[MarketRules, ...]:
        """The exchange's tradable symbols and rules; raises :class:`ConnectorUnavailable`."""
        ...


class ConnectorUnavailable(Exception):
    """No connector answered in time (retry later, with the same client order ids)."""


class EventPort(Protocol):
    async def publish(self, subject: str, message: Message) -> None:
        """Publish durably (de-duplicated on ``message_id``)."""
        ...


class SpecSource(Protocol):
    def spec(self, strategy_id: str) -> StrategySpec | None:
        """The latest known spec of a strategy."""
        ...


class RunnerMetrics(Protocol):
    def owned(self, count: int) -> None:
        """Strategies this runner owns now."""
        ...

    def takeover(self) -> None:
        """A strategy was taken over from a runner whose session expired."""
        ...

    def order_roundtrip(self, action: str, seconds: float, outcome: str) -> None:
        """One order call to the connector, its latency and outcome (ok/error/timeout)."""
        ...

    def evaluations(self, count: int) -> None:
        """Strategy evaluations done (one strategy looking at one tick)."""
        ...
