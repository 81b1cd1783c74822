"""The persisted runtime state of a strategy, and its two explicit state machines.

Strategy status (``Status``) and per-pair deal phase (``Phase``) change only through
:func:`Status.check` / :func:`Phase.check`, which reject transitions not in the tables.
Everything here is immutable; the engine returns new values.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import MarketRules, StrategyError

ZERO = Decimal(0)


class IllegalTransition(Exception):
    """A state machine was asked for a transition its table does not allow (a bug)."""


class Status(StrEnum):
    """Lifecycle of a strategy as its owning runner sees it."""

    STARTING = "starting"  # owned, orders not reconciled with the exchange yet
    RUNNING = "running"
    PAUSED = "paused"  # connection offline or user pause: no new orders
    FAILED = "failed"  # the exchange refused an order; the user must look
    DISABLING = "disabling"  # cancelling open orders
    DISABLED = "disabled"  # terminal

    def check(self, to: Status) -> Status:
        """``to``, if the transition is allowed."""
        if to is not self and to not in STATUS_TRANSITIONS[self]:
            raise IllegalTransition(f"strategy {self.value} -> {to.value}")
        return to

    @property
    def public(self) -> str:
        """The API status (``disabling`` shows as ``disabled``: no new orders either way)."""
        return "disabled" if self is Status.DISABLING else self.value


STATUS_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.STARTING: frozenset({Status.RUNNING, Status.PAUSED, Status.FAILED, Status.DISABLING}),
    Status.RUNNING: frozenset({Status.PAUSED, Status.FAILED, Status.DISABLING}),
    Status.PAUSED: frozenset({Status.RUNNING, Status.FAILED, Status.DISABLING}),
    Status.FAILED: frozenset({Status.DISABLING}),
    Status.DISABLING: frozenset({Status.DISABLED}),
    Status.DISABLED: frozenset(),
}


class Phase(StrEnum):
    """Where one pair's DCA cycle is."""

    IDLE = "idle"  # flat: the next tick opens a cycle with the base order
    ENTERING = "entering"  # base order live
    IN_POSITION = "in_position"  # take profit and next reinforcement live
    RECOVERY = "recovery"  # adds exhausted, drawdown past trigger: lowered exit / partial closes
    STOPPING = "stopping"  # stop loss hit: orders cancelled, position sold
    STOPPED = "stopped"  # the pair trades no more (stop loss, max cycles)

    def check(self, to: Phase) -> Phase:
        """``to``, if the transition is allowed."""
        if to is not self and to not in PHASE_TRANSITIONS[self]:
            raise IllegalTransition(f"deal {self.value} -> {to.value}")
        return to


PHASE_TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.IDLE: frozenset({Phase.ENTERING, Phase.STOPPED}),
    Phase.ENTERING: frozenset({Phase.IDLE, Phase.IN_POSITION}),
    Phase.IN_POSITION: frozenset({Phase.RECOVERY, Phase.STOPPING, Phase.IDLE, Phase.STOPPED}),
    Phase.RECOVERY: frozenset({Phase.STOPPING, Phase.IDLE, Phase.STOPPED}),
    Phase.STOPPING: frozenset({Phase.STOPPED}),
    Phase.STOPPED: frozenset(),
}


class OrderKind(StrEnum):
    BASE = "base"
    ADD = "add"
    TP = "tp"  # take profit, or the lowered exit in Recovery Mode
    PARTIAL = "partial"  # Recovery Mode partial close
    STOP = "stop"  # stop-loss exit


class OrderStatus(StrEnum):
    """Live order states. Terminal states are applied and the order dropped from the deal."""

    NEW = "new"  # decided and persisted, being placed (re-placed after a failover)
    OPEN = "open"  # the exchange has it
    CANCELING = "canceling"  # cancel requested


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Order(_Model):
    """An order the strategy owns. Fills are cumulative as the exchange reports them."""

    client_order_id: str
    kind: OrderKind
    step: int = 0  # add number for ADD, partial close number for PARTIAL
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"]
    price: Decimal  # limit price; for market sells the price that triggered them
    amount: Decimal
    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = ZERO
    cost: Decimal = ZERO  # quote value of the filled part
    fee_quote: Decimal = ZERO
    fee_base: Decimal = ZERO
    queried_at_ms: int | None = None

    @property
    def remaining(self) -> Decimal:
        """Amount not filled yet."""
        return self.amount - self.filled


class Deal(_Model):
    """One pair's state: the current cycle, its position and its live orders."""

    pair: str  # ccxt symbol
    phase: Phase = Phase.IDLE
    cycle: int = 1
    seq: int = 0  # orders created in this cycle; part of the client order id
    qty: Decimal = ZERO  # position, net of fees paid in base currency
    cost: Decimal = ZERO  # notional paid for ``qty`` (exposure), fees excluded
    fees_quote: Decimal = ZERO  # fees of the current position, in quote
    entry_price: Decimal | None = None  # base order fill: the reinforcement ladder's anchor
    adds_done: int = 0
    partial_closes: int = 0
    partial_due: bool = False
    last_partial_price: Decimal | None = None
    cycles_done: int = 0
    realized_pnl: Decimal = ZERO
    orders: tuple[Order, ...] = ()
    stop_reason: str | None = None

    @property
    def average(self) -> Decimal | None:
        """Average entry price of the position (notional / quantity)."""
        return self.cost / self.qty if self.qty > 0 else None

    def live(self, side: str | None = None) -> tuple[Order, ...]:
        """Live orders, optionally of one side."""
        return self.orders if side is None else tuple(o for o in self.orders if o.side == side)

    def find(self, client_order_id: str) -> Order | None:
        """The live order with this id."""
        for order in self.orders:
            if order.client_order_id == client_order_id:
                return order
        return None


class StrategyState(_Model):
    """Everything a runner persists about a strategy; a new owner continues from it."""

    schema_version: Literal[1] = 1
    strategy_id: str
    spec_version: int
    params: StrategyParams
    rules: dict[str, MarketRules]  # ccxt symbol -> trading rules
    status: Status = Status.STARTING
    paused_by: tuple[str, ...] = ()  # "connection_offline", "user"
    reason: str | None = None
    disable_reason: str | None = None  # DisableReason once disabling
    error: StrategyError | None = None
    deals: tuple[Deal, ...] = ()
    abandoned_orders: tuple[str, ...] = ()  # could not be cancelled while disabling
    # Event outbox: every status change worth an event bumps ``transitions`` and records
    # ``last_transition`` ("paused:connection_offline", "disabled:stop_condition", ...); the
    # runner publishes it and then records ``published``. A crash in between is repaired by
    # the next owner, with the same message id (``<strategy_id>.<transitions>``).
    transitions: int = 0
    last_transition: str | None = None
    published: int = 0

    def deal(self, pair: str) -> Deal | None:
        """The deal of ``pair`` (ccxt symbol)."""
        for deal in self.deals:
            if deal.pair == pair:
                return deal
        return None
