"""One owned strategy: the only writer of its state while this runner holds its claim.

An :class:`Owner` is an asyncio task with an inbox. Everything that can change the strategy
(ticks, spec changes, connection state, reconciliation, order replies) is handled one at a
time, in this order: engine decision -> persist (compare-and-set on the state's revision)
-> publish queued lifecycle events -> send the order commands. Persisting before sending is
what makes failover safe: a new owner re-sends the same orders under the same client ids.
A lost compare-and-set means another runner owns the strategy now: this owner stops at once.

Ticks do not queue: the latest price per symbol replaces the previous one, and a price
inside the strategy's watch band (where the engine provably does nothing) is dropped
without waking the task at all — that check is the runner's hot path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from bf_shared import subjects
from bf_shared.messages import Message
from bf_shared.strategy_messages import (
    RETRYABLE_ORDER_ERRORS,
    OrderReply,
    OrderRequest,
    StrategyDisabled,
    StrategyError,
    StrategyFailed,
    StrategyPaused,
    StrategyResumed,
    StrategySpec,
)

from bf_runner.domain import engine
from bf_runner.domain.commands import Cancel, Command, Fill, OrderFailed, Place, Query
from bf_runner.domain.model import Status, StrategyState
from bf_runner.markets import MarketsCache
from bf_runner.ports import (
    Clock,
    ConnectionState,
    ConnectorPort,
    ConnectorUnavailable,
    EventPort,
    RunnerMetrics,
    StaleRevision,
    StrategyStore,
)
from bf_runner.settings import RunnerSettings
from bf_runner.status import status_view

log = logging.getLogger(__name__)

#: Errors that say the key no longer works: the strategy pauses until the connection passes
#: a test again, instead of failing (the tester will notice the key soon enough). The
#: connector's own guard (``connection_not_verified``: the key in use has not passed a test,
#: e.g. just rotated, or failed) is the same situation seen from the connector's side.
KEY_ERRORS = frozenset({"invalid_key", "permission_denied", "ip_not_allowed", "connection_not_verified"})
OFFLINE = "connection_offline"


class LostOwnership(Exception):
    """Another runner wrote the strategy's state: stop touching it."""


@dataclass(frozen=True, slots=True)
class OwnerDeps:
    """What an owner needs, wired once by the bootstrap."""

    store: StrategyStore
    connector: ConnectorPort
    events: EventPort
    clock: Clock
    metrics: RunnerMetrics
    markets: MarketsCache
    settings: RunnerSettings
    runner_id: str


@dataclass(frozen=True, slots=True)
class SpecChanged:
    spec: StrategySpec


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    state: ConnectionState


Control = SpecChanged | ConnectionChanged


class _Stopped(Exception):
    """Stopped before the strategy could be opened."""


class _KeyRevoked(Exception):
    """An order call failed because the key no longer works."""


class Owner:
    """Runs one strategy until stopped, disabled, or its ownership is lost."""

    def __init__(self, spec: StrategySpec, deps: OwnerDeps) -> None:
        self.spec = spec
        self.deps = deps
        self.strategy_id = spec.strategy_id
        self.state: StrategyState | None = None
        self.revision: int | None = None
        self.bands: dict[str, tuple[Decimal, Decimal]] = {}
        self.opened = asyncio.Event()  # set once the state is loaded and reconciled
        self.done = asyncio.Event()  # set when the strategy is finished (disabled)
        self.lost = False  # another runner owns it now: do not touch its claim
        self._inbox: deque[Control] = deque()
        self._ticks: dict[str, Decimal] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_status: object = None
        self._last_reconcile_ms = 0

    # ------------------------------------------------------------------ called by the supervisor

    def offer_tick(self, symbol: str, price: Decimal) -> None:
        """Hot path: drop prices inside the watch band, keep only the latest one otherwise."""
        band = self.bands.get(symbol)
        if band is not None and band[0] < price < band[1]:
            return
        self._ticks[symbol] = price
        self._wake.set()

    def notify(self, control: Control) -> None:
        """Queue a spec or connection change."""
        self._inbox.append(control)
        self._wake.set()

    def stop(self) -> None:
        """Finish what is in hand, then return from :meth:`run`."""
        self._stopping = True
        self._wake.set()

    @property
    def symbols(self) -> tuple[str, ...]:
        """The ccxt symbols this strategy trades (known once opened)."""
        return tuple(d.pair for d in self.state.deals) if self.state is not None else ()

    @property
    def wants_ticks(self) -> bool:
        """Whether the strategy currently reacts to prices."""
        return self.state is not None and self.state.status.value == "running"

    # ------------------------------------------------------------------ the task

    async def run(self, connection: ConnectionState | None) -> None:
        """Open the strategy and process its events until stopped."""
        try:
            await self._open(connection)
            while not self._stopping and not self.done.is_set():
                timeout = self.deps.settings.reconcile_s
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
                self._wake.clear()
                await self._drain()
        except _Stopped:
            pass
        except LostOwnership:
            self.lost = True
            log.warning("strategy %s: ownership lost to another runner", self.strategy_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Releasing the claim lets a runner (maybe this one) open it again from its state.
            log.exception("strategy %s: owner crashed; releasing it", self.strategy_id)

    async def _drain(self) -> None:
        while self._inbox and not self._stopping:
            await self._control(self._inbox.popleft())
        ticks, self._ticks = self._ticks, {}
        now = self.deps.clock.now_ms()
        for symbol, price in ticks.items():
            if self._stopping:
                return
            assert self.state is not None
            await self._apply(engine.on_tick(self.state, symbol, price, now))
        if now - self._last_reconcile_ms >= self.deps.settings.reconcile_s * 1000:
            self._last_reconcile_ms = now
            assert self.state is not None
            await self._execute(engine.reconcile_commands(self.state))

    async def _open(self, connection: ConnectionState | None) -> None:
        loaded = await self.deps.store.load_state(self.strategy_id)
        if loaded is not None:
            state, self.revision = loaded
        else:
            state = await self._new_state()
        now = self.deps.clock.now_ms()
        # start() re-sends or asks about every live order itself: the connection decision's
        # own commands would only duplicate those.
        state, _ = _connection_decision(state, connection, now)
        state, cmds = engine.start(state, now)
        state, more = _spec_decision(state, self.spec, now)
        self._last_reconcile_ms = now
        await self._commit(state, force=True)
        self.opened.set()
        await self._execute(cmds + more)

    async def _new_state(self) -> StrategyState:
        params = self.spec.params
        delay = 0.5
        while True:
            try:
                rules = await self.deps.markets.rules(self.spec.exchange, params.market)
                break
            except ConnectorUnavailable:
                log.warning("strategy %s: no markets from the %s connector yet", self.strategy_id, self.spec.exchange)
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)  # stop() wakes it
                except TimeoutError:
                    pass
                self._wake.clear()
                if self._stopping:
                    raise _Stopped from None
                delay = min(delay * 2, 10.0)
        known = {p: rules[p] for p in params.pairs if p in rules}
        state = engine.new_state(self.strategy_id, self.spec.version, params,
                                 {r.symbol: r for r in known.values()},
                                 {p: r.symbol for p, r in known.items()})
        missing = [p for p in params.pairs if p not in rules]
        if missing:
            # Cannot trade what the exchange does not list (the gateway checks too; markets change).
            state = engine.fail(state, "unknown_pair", f"{self.spec.exchange} does not list {', '.join(missing)}")
        return state

    # ------------------------------------------------------------------ control events

    async def _control(self, control: Control) -> None:
        assert self.state is not None
        now = self.deps.clock.now_ms()
        if isinstance(control, SpecChanged):
            self.spec = control.spec
            await self._apply(_spec_decision(self.state, control.spec, now))
        else:
            await self._apply(_connection_decision(self.state, control.state, now))

    # ------------------------------------------------------------------ decisions and orders

    async def _apply(self, result: engine.Result) -> None:
        state, cmds = result
        if state is not self.state:
            await self._commit(state)
        await self._execute(cmds)

    async def _execute(self, cmds: list[Command]) -> None:
        queue = deque(cmds)
        while queue and not self._stopping:
            cmd = queue.popleft()
            assert self.state is not None
            try:
                outcome = await self._call(cmd)
            except _KeyRevoked as e:
                log.warning("strategy %s: the exchange refused the key (%s); pausing until the connection "
                            "passes a test again", self.strategy_id, e)
                state, _ = engine.pause(self.state, OFFLINE)
                await self._commit(state)
                return  # paused: the rest waits for the connection to pass a test again
            if outcome is None:
                continue  # still unknown: the next reconciliation asks again (same client id)
            if isinstance(outcome, Fill):
                state, more = engine.on_fill(self.state, outcome, self.deps.clock.now_ms())
            else:
                state, more = engine.on_failed(self.state, outcome)
            if state is not self.state:
                await self._commit(state)
            queue.extend(more)

    def _request(self, cmd: Command) -> OrderRequest:
        assert self.state is not None
        params = self.state.params
        common = dict(connection_id=self.spec.connection_id, exchange=self.spec.exchange, market=params.market,
                      symbol=cmd.pair, strategy_id=self.strategy_id)
        if isinstance(cmd, Place):
            o = cmd.order
            futures = params.market == "futures"
            return OrderRequest(action="place", client_order_id=o.client_order_id, side=o.side, type=o.type,
                                amount=o.amount, price=o.price if o.type == "limit" else None,
                                reduce_only=futures and o.side == "sell",
                                leverage=params.leverage if futures else None, **common)  # type: ignore[arg-type]
        action = "cancel" if isinstance(cmd, Cancel) else "query"
        return OrderRequest(action=action, client_order_id=cmd.client_order_id, **common)  # type: ignore[arg-type]

    async def _call(self, cmd: Command) -> Fill | OrderFailed | None:
        request = self._request(cmd)
        settings = self.deps.settings
        delay = 0.25
        for attempt in range(1, settings.order_retries + 1):
            started = time.perf_counter()
            reply: OrderReply | None = None
            try:
                reply = await self.deps.connector.order(request, settings.order_timeout_s)
            except ConnectorUnavailable:
                self.deps.metrics.order_roundtrip(request.action, time.perf_counter() - started, "timeout")
            else:
                outcome = "ok" if reply.ok else "error"
                self.deps.metrics.order_roundtrip(request.action, time.perf_counter() - started, outcome)
            if reply is not None:
                result = self._outcome(cmd, reply)
                if result is not None:
                    return result
            if attempt < settings.order_retries and not self._stopping:
                await asyncio.sleep(delay)
                delay *= 2
        log.warning("strategy %s: %s %s unanswered after %d tries", self.strategy_id, request.action,
                    request.client_order_id, settings.order_retries)
        return None

    def _outcome(self, cmd: Command, reply: OrderReply) -> Fill | OrderFailed | None:
        client_id = cmd.order.client_order_id if isinstance(cmd, Place) else cmd.client_order_id
        if reply.ok and reply.order is not None:
            assert self.state is not None
            return _fill(client_id, reply, self.state.rules[cmd.pair].base, self.state.params.fee_pct)
        error = reply.error
        if error is None or error.retryable or error.code in RETRYABLE_ORDER_ERRORS:
            return None
        disabling = self.state is not None and self.state.status is Status.DISABLING
        if error.code in KEY_ERRORS and not disabling:
            raise _KeyRevoked(error.code)
        # While disabling, an order the key can no longer cancel is given up (recorded).
        return OrderFailed(client_id, error.code, error.detail)

    # ------------------------------------------------------------------ persistence and events

    async def _commit(self, state: StrategyState, force: bool = False) -> None:
        try:
            self.revision = await self.deps.store.save_state(state, self.revision)
        except StaleRevision:
            raise LostOwnership(self.strategy_id) from None
        self.state = state
        self.bands = {d.pair: engine.band(state, d.pair) for d in state.deals}
        if state.transitions > state.published:
            await self._publish(state)
        await self._write_status(force)
        if state.status.value == "disabled":
            self.done.set()

    async def _publish(self, state: StrategyState) -> None:
        # Only the latest transition is announced: after a crash, a transition superseded
        # before it was published (paused, then resumed) is not replayed.
        event = _lifecycle_event(state, self.spec, self.deps.runner_id)
        if event is not None:
            await self.deps.events.publish(*event)
        published = state.model_copy(update={"published": state.transitions})
        try:
            self.revision = await self.deps.store.save_state(published, self.revision)
        except StaleRevision:
            raise LostOwnership(self.strategy_id) from None
        self.state = published

    async def _write_status(self, force: bool) -> None:
        assert self.state is not None
        view = status_view(self.state, self.deps.runner_id)
        key = view.model_dump(exclude={"updated_at"})
        if force or key != self._last_status:
            await self.deps.store.save_status(view)
            self._last_status = key


def _spec_decision(state: StrategyState, spec: StrategySpec, now_ms: int) -> engine.Result:
    """What the user's spec asks of the strategy: disable, new parameters, pause or resume."""
    if not spec.enabled:
        return engine.disable(state, "user", "disabled by the user")
    cmds: list[Command] = []
    if spec.version > state.spec_version:
        state, more = engine.update_params(state, spec.version, spec.params, now_ms)
        cmds += more
    if spec.paused_by_user:
        state, more = engine.pause(state, "user")
    else:
        state, more = engine.resume(state, "user", now_ms)
    return state, cmds + more


def _connection_decision(state: StrategyState, connection: ConnectionState | None, now_ms: int) -> engine.Result:
    """Pause while the connection is not Online, resume when it is, stop when it is deleted."""
    if connection == "deleted":
        return engine.disable(state, "connection_deleted", "the connection was deleted")
    if connection == "offline":
        return engine.pause(state, OFFLINE)
    if connection == "online":
        return engine.resume(state, OFFLINE, now_ms)
    return state, []


def _fill(client_id: str, reply: OrderReply, base: str, fee_pct: Decimal) -> Fill:
    """The engine's view of an order reply.

    Some exchanges do not report fees with the order (MEXC lists them with the trades): then
    the fee is estimated at the strategy's ``fee_pct`` in quote, so break-even targets still
    cover it.
    """
    order = reply.order
    assert order is not None
    if order.fee_currency is None and order.fee_cost == 0 and order.filled > 0:
        return Fill(client_id, order.status, order.filled, order.cost, order.cost * fee_pct / 100, Decimal(0))
    fee_base = order.fee_cost if order.fee_currency == base else Decimal(0)
    fee_quote = order.fee_cost if order.fee_currency not in (None, base) else Decimal(0)
    return Fill(client_id, order.status, order.filled, order.cost, fee_quote, fee_base)


def _lifecycle_event(state: StrategyState, spec: StrategySpec, runner_id: str) -> tuple[str, Message] | None:
    kind, _, detail = (state.last_transition or "").partition(":")
    common = dict(message_id=f"{state.strategy_id}.{state.transitions}", strategy_id=state.strategy_id,
                  user_id=spec.user_id, connection_id=spec.connection_id, exchange=spec.exchange)
    if kind == "paused":
        return subjects.STRATEGY_PAUSED, StrategyPaused(reason=detail, runner_id=runner_id, **common)  # type: ignore[arg-type]
    if kind == "resumed":
        return subjects.STRATEGY_RESUMED, StrategyResumed(reason=detail, runner_id=runner_id, **common)  # type: ignore[arg-type]
    if kind == "failed":
        error = state.error or StrategyError(code=detail)
        return subjects.STRATEGY_FAILED, StrategyFailed(error=error, runner_id=runner_id, **common)  # type: ignore[arg-type]
    if kind == "disabled" and detail != "user":  # the gateway announced the user's own disable
        return subjects.STRATEGY_DISABLED, StrategyDisabled(reason=detail, detail=state.reason or "", **common)  # type: ignore[arg-type]
    return None
