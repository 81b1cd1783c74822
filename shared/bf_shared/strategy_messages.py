"""Bus messages of strategies: lifecycle events, order and markets request/reply, ticks.

Subjects: lifecycle events on ``subjects.STRATEGY_*`` (durable, BF_EVENTS), including
``STRATEGY_LEASE_LOST`` (a runner took over a strategy from one that died); orders on
``subjects.order_subject(exchange)`` and markets on ``subjects.markets_subject(exchange)``
(core NATS request/reply, connector queue group); ticks on ``subjects.ticks_subject``
(core NATS, latest value wins); market-data interest on ``subjects.md_interest_subject``.

Also the KV records of bucket ``bf_strategies``: :class:`StrategySpec` (``spec.<id>``, the
user's intent, written by the gateway) and :class:`StrategyStatusView` (``status.<id>``,
written by the runner that owns the strategy). Quantities are ``Decimal`` (JSON strings):
exact amounts travel between runner, connector and exchange.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from bf_shared.messages import Frozen, Message, new_id, utcnow
from bf_shared.strategy import Market, StrategyParams

StrategyStatus = Literal["starting", "running", "paused", "disabled", "failed"]
PauseReason = Literal["connection_offline", "user"]
DisableReason = Literal["user", "connection_deleted", "stop_condition"]


def spec_key(strategy_id: str) -> str:
    """KV key of a strategy's spec in ``bf_strategies``."""
    return f"spec.{strategy_id}"


def status_key(strategy_id: str) -> str:
    """KV key of a strategy's runtime status in ``bf_strategies``."""
    return f"status.{strategy_id}"


def by_connection_key(connection_id: str, strategy_id: str) -> str:
    """KV index key listing the strategies of one connection."""
    return f"byconn.{connection_id}.{strategy_id}"


# ----------------------------------------------------------------------------- KV records


class StrategySpec(Frozen):
    """The user's intent for one strategy (written by the gateway only)."""

    schema_version: Literal[1] = 1
    strategy_id: str
    user_id: str
    connection_id: str
    exchange: str
    params: StrategyParams
    version: int = Field(1, ge=1, description="Incremented by every change")
    enabled: bool = True
    paused_by_user: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StrategyError(Frozen):
    """Why a strategy failed (an order the exchange refused, ...). Never secret material."""

    code: str
    detail: str = ""


class PairStatus(Frozen):
    """One pair's deal, as the dashboard shows it."""

    pair: str
    phase: str
    cycle: int
    cycles_done: int
    adds_done: int
    position_qty: Decimal
    average_price: Decimal | None
    exit_price: Decimal | None
    recovery: bool
    open_orders: int
    realized_pnl_quote: Decimal


class StrategyStatusView(Frozen):
    """Runtime status of a strategy (written by its owning runner)."""

    schema_version: Literal[1] = 1
    strategy_id: str
    status: StrategyStatus
    # True once nothing is left to do (disabled and every open order handled); a strategy
    # shown "disabled" may still be cancelling its orders until then.
    finished: bool = False
    reason: str | None = None
    error: StrategyError | None = None
    spec_version: int
    runner_id: str | None = None
    exposure_quote: Decimal = Decimal(0)
    realized_pnl_quote: Decimal = Decimal(0)
    pairs: tuple[PairStatus, ...] = ()
    updated_at: datetime = Field(default_factory=utcnow)


# ----------------------------------------------------------------------------- events


class _StrategyEvent(Message):
    strategy_id: str
    user_id: str
    connection_id: str
    exchange: str


class StrategyEnabled(_StrategyEvent):
    params: StrategyParams
    version: int


class StrategyUpdated(_StrategyEvent):
    params: StrategyParams
    version: int
    paused_by_user: bool = False


class StrategyDisabled(_StrategyEvent):
    reason: DisableReason
    detail: str = ""


class StrategyPaused(_StrategyEvent):
    reason: PauseReason
    runner_id: str | None = None


class StrategyResumed(_StrategyEvent):
    reason: PauseReason
    runner_id: str | None = None


class StrategyFailed(_StrategyEvent):
    error: StrategyError
    runner_id: str | None = None


class StrategyLeaseLost(_StrategyEvent):
    """A runner took over a strategy whose owner stopped renewing its lease.

    Published by the runner that won the takeover (compare-and-set on the strategy's claim),
    never for a first claim, a voluntary hand-over or a graceful shutdown (those release the
    claim). Its ``message_id`` is :func:`lease_lost_id`: one per lost *session*, so the
    attempts of several runners, or retries of one, are stored once (JetStream de-duplication)
    and notified once, while a later loss by a runner restarted under the same name is a new
    event. Runner names and session ids are infrastructure identifiers, never secrets.
    """

    name: str = Field(description="The strategy's display name")
    previous_owner: str = Field(description="Runner id whose lease ran out")
    previous_session: str = Field(description="Session id of that runner when it held the claim")
    new_owner: str = Field(description="Runner id that took the strategy over")
    lost_at: datetime = Field(
        description="When the previous owner's lease ran out (its session's expiry); the time of "
        "the takeover when that session is no longer known"
    )


def lease_lost_id(strategy_id: str, previous_session: str) -> str:
    """Message id of :class:`StrategyLeaseLost`: the same for every takeover of one lost claim."""
    return f"{strategy_id}.{previous_session}.lease_lost"


# ----------------------------------------------------------------------------- orders (request/reply)

OrderAction = Literal["place", "cancel", "query", "open_orders"]
OrderSide = Literal["buy", "sell"]
OrderType = Literal["limit", "market"]
OrderState = Literal["open", "closed", "canceled", "rejected", "expired"]
OrderErrorCode = Literal[
    "insufficient_funds",
    "invalid_order",
    "order_not_found",
    "invalid_key",
    "permission_denied",
    "ip_not_allowed",
    "exchange_unavailable",
    "rate_limited",
    "clock_skew",
    "not_supported",
    # The connector refuses to place orders for a connection whose key version in use has not
    # passed a connection test (a rotated key under test, a failed test, no verdict known yet).
    # Not retryable by itself: the caller waits for the connection to pass a test again.
    "connection_not_verified",
    "unknown",
]

#: Order errors worth retrying with the same client order id.
RETRYABLE_ORDER_ERRORS: frozenset[str] = frozenset({"exchange_unavailable", "rate_limited", "clock_skew"})


class OrderRequest(Frozen):
    """Runner -> connector. ``place`` is idempotent on ``client_order_id``."""

    schema_version: Literal[1] = 1
    request_id: str = Field(default_factory=new_id)
    action: OrderAction
    connection_id: str
    exchange: str
    market: Market
    symbol: str = Field(description="ccxt symbol: BTC/USDT (spot), BTC/USDT:USDT (futures)")
    client_order_id: str | None = None
    side: OrderSide | None = None
    type: OrderType | None = None
    amount: Decimal | None = Field(None, gt=0)
    price: Decimal | None = Field(None, gt=0)
    reduce_only: bool = False
    leverage: int | None = None
    strategy_id: str | None = None


class OrderView(Frozen):
    """An order as the exchange reports it (cumulative fills)."""

    client_order_id: str | None
    exchange_order_id: str | None = None
    symbol: str
    side: OrderSide
    type: OrderType
    price: Decimal | None = None
    amount: Decimal
    filled: Decimal = Decimal(0)
    average: Decimal | None = None
    cost: Decimal = Decimal(0)
    status: OrderState
    fee_cost: Decimal = Decimal(0)
    fee_currency: str | None = None
    timestamp_ms: int | None = None


class OrderError(Frozen):
    """Classified once in the connector, on the exchange's own error code."""

    code: OrderErrorCode
    retryable: bool = False
    exchange_code: str | None = None
    detail: str = ""


class OrderReply(Frozen):
    """Connector -> runner."""

    schema_version: Literal[1] = 1
    request_id: str
    ok: bool
    order: OrderView | None = None
    orders: tuple[OrderView, ...] = ()
    error: OrderError | None = None


# ----------------------------------------------------------------------------- markets (request/reply)


class MarketsRequest(Frozen):
    """Ask a connector for its tradable markets of one kind."""

    schema_version: Literal[1] = 1
    exchange: str
    market: Market


class MarketRules(Frozen):
    """Trading rules of one symbol (amounts in base units, or contracts on futures)."""

    symbol: str
    pair: str = Field(description="BASE/QUOTE, as users write it")
    base: str
    quote: str
    market: Market
    amount_step: Decimal = Field(gt=0)
    price_step: Decimal = Field(gt=0)
    min_amount: Decimal = Decimal(0)
    min_cost: Decimal = Decimal(0)
    contract_size: Decimal = Decimal(1)
    active: bool = True


class MarketsReply(Frozen):
    schema_version: Literal[1] = 1
    exchange: str
    market: Market
    markets: tuple[MarketRules, ...] = ()
    error: OrderError | None = None


# ----------------------------------------------------------------------------- market data


class MarketDataInterest(Frozen):
    """A runner needs ticks for these symbols for the next ``ttl_s`` seconds (re-sent periodically)."""

    schema_version: Literal[1] = 1
    runner_id: str
    exchange: str
    market: Market
    symbols: tuple[str, ...]
    ttl_s: float = Field(15.0, gt=0)


class Tick(Frozen):
    """Last price of one symbol, polled once per exchange for every strategy."""

    schema_version: Literal[1] = 1
    exchange: str
    market: Market
    symbol: str
    last: Decimal = Field(gt=0)
    bid: Decimal | None = None
    ask: Decimal | None = None
    ts_ms: int
