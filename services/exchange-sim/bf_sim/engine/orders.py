"""Orders, fills, balances and positions of the simulated accounts.

Venue-neutral: the exchange modules parse their own request formats into an
:class:`OrderRequest` and render :class:`Order` back in their own shape; errors come out as
:class:`EngineError` with a reason each venue maps to its real code.

Model (kept deliberately simple, documented so tests can rely on it):

* top of book is one tick either side of the current price; market orders and marketable
  limit orders fill at once, fully, as taker at that top of book;
* resting limit orders fill fully, as maker at their limit price, when a price step reaches
  them (buy: price <= limit; sell: price >= limit);
* spot fees are charged in the quote currency (USDT) on both sides;
* futures are linear USDT perpetuals in one-way mode: margin = notional / leverage is reserved
  for open orders and held by the position; realised PnL and fees settle in the USDT wallet.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import Enum
from typing import Literal

from bf_sim import markets
from bf_sim.clock import Clock
from bf_sim.engine.prices import PricePaths
from bf_sim.markets import QUOTE, Asset
from bf_sim.state import Account

Kind = Literal["spot", "futures"]
Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market"]
TimeInForce = Literal["GTC", "IOC", "FOK", "POST_ONLY"]
Status = Literal["open", "filled", "canceled"]
ZERO = Decimal(0)


class Reason(Enum):
    """Why the engine refused a request."""

    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    WOULD_TAKE = "would_take"  # post-only order would match at once
    NO_POSITION = "no_position"  # reduce-only with nothing to reduce
    NOT_FOUND = "not_found"
    NOT_OPEN = "not_open"
    BAD_LEVERAGE = "bad_leverage"


class EngineError(Exception):
    """A refused request; venues map ``reason`` to their own code."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Fees:
    """Maker and taker rates of one market type."""

    maker: Decimal
    taker: Decimal


@dataclass(frozen=True)
class OrderRequest:
    """A new order, venue-neutral. ``qty`` is base units (spot) or contracts (futures)."""

    kind: Kind
    asset: Asset
    side: Side
    type: OrderType
    qty: Decimal | None = None
    price: Decimal | None = None
    funds: Decimal | None = None  # spot market orders by quote amount
    tif: TimeInForce = "GTC"
    client_id: str | None = None
    leverage: int | None = None
    reduce_only: bool = False
    margin_mode: Literal["cross", "isolated"] = "cross"
    api_key: str | None = None


@dataclass
class Fill:
    """One execution of an order."""

    trade_id: str
    order_id: str
    ts_ms: int
    price: Decimal
    qty: Decimal
    quote: Decimal  # price x base quantity
    fee: Decimal
    maker: bool
    realised_pnl: Decimal = ZERO


@dataclass
class Order:
    """An order as the engine keeps it."""

    order_id: str
    account_id: str
    request: OrderRequest
    created_ms: int
    updated_ms: int
    status: Status = "open"
    leverage: int = 1
    filled_qty: Decimal = ZERO
    filled_quote: Decimal = ZERO
    fee: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    locked: Decimal = ZERO
    locked_currency: str = QUOTE
    canceled: bool = False

    @property
    def kind(self) -> Kind:
        """spot or futures."""
        return self.request.kind

    @property
    def asset(self) -> Asset:
        """The traded asset."""
        return self.request.asset

    @property
    def side(self) -> Side:
        """buy or sell."""
        return self.request.side

    @property
    def client_id(self) -> str | None:
        """The caller's id."""
        return self.request.client_id

    @property
    def qty(self) -> Decimal:
        """Ordered quantity (for spot market orders by funds: what was filled)."""
        if self.request.qty is not None:
            return self.request.qty
        return self.filled_qty

    @property
    def average(self) -> Decimal | None:
        """Average fill price."""
        qty = sum((f.qty for f in self.fills), ZERO)
        return sum((f.price * f.qty for f in self.fills), ZERO) / qty if qty else None

    @property
    def is_open(self) -> bool:
        """Still working."""
        return self.status == "open"


@dataclass
class Position:
    """A one-way futures position: ``qty`` contracts, positive long, negative short."""

    account_id: str
    asset: Asset
    qty: Decimal
    entry_price: Decimal
    leverage: int
    margin_mode: str
    opened_ms: int
    updated_ms: int
    realised_pnl: Decimal = ZERO
    position_id: str = ""


ContractSize = Callable[[Asset], Decimal]


class Engine:
    """Every account's orders and positions on one exchange."""

    def __init__(
        self,
        prices: PricePaths,
        clock: Clock,
        *,
        spot_fees: Fees,
        futures_fees: Fees,
        contract_size: ContractSize,
        futures_tick: Callable[[Asset], Decimal],
        id_format: Callable[[int], str],
        default_leverage: int = 10,
    ) -> None:
        self.prices = prices
        self.clock = clock
        self.fees = {"spot": spot_fees, "futures": futures_fees}
        self.contract_size = contract_size
        self.futures_tick = futures_tick
        self.id_format = id_format
        self.default_leverage = default_leverage
        self.orders: dict[str, Order] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.leverage: dict[tuple[str, str], int] = {}
        self._ids = itertools.count(1)

    def reset(self) -> None:
        """Forget every order and position."""
        self.orders.clear()
        self.positions.clear()
        self.leverage.clear()
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        """A new order/trade/position id in the venue's format."""
        return self.id_format(next(self._ids))

    # -- prices ----------------------------------------------------------------------

    def tick(self, kind: Kind, asset: Asset) -> Decimal:
        """The price increment of the market."""
        return markets.spot_tick(asset) if kind == "spot" else self.futures_tick(asset)

    def top_of_book(self, kind: Kind, asset: Asset) -> tuple[Decimal, Decimal]:
        """(bid, ask) now."""
        return markets.bid_ask(self.prices.price(asset.code), self.tick(kind, asset))

    # -- queries -----------------------------------------------------------------------

    def account_orders(self, account: Account, kind: Kind, asset: Asset | None = None) -> list[Order]:
        """Every order of the account in that market type, oldest first."""
        return [
            o
            for o in self.orders.values()
            if o.account_id == account.account_id and o.kind == kind and (asset is None or o.asset is asset)
        ]

    def find(
        self, account: Account, kind: Kind | None, *, order_id: str | None = None, client_id: str | None = None
    ) -> Order | None:
        """An order of the account by id or client id."""
        for o in self.orders.values():
            if o.account_id != account.account_id or (kind is not None and o.kind != kind):
                continue
            if order_id is not None and o.order_id == order_id:
                return o
            if client_id is not None and o.client_id == client_id:
                return o
        return None

    def account_fills(self, account: Account, kind: Kind, asset: Asset | None = None) -> list[tuple[Order, Fill]]:
        """Every fill of the account, oldest first."""
        out = [(o, f) for o in self.account_orders(account, kind, asset) for f in o.fills]
        return sorted(out, key=lambda pair: pair[1].ts_ms)

    def account_positions(self, account: Account) -> list[Position]:
        """Open futures positions of the account."""
        return [p for (acc, _), p in self.positions.items() if acc == account.account_id and p.qty != 0]

    def position(self, account: Account, asset: Asset) -> Position | None:
        """The account's open position in ``asset``."""
        p = self.positions.get((account.account_id, asset.code))
        return p if p is not None and p.qty != 0 else None

    def leverage_of(self, account: Account, asset: Asset) -> int:
        """The account's leverage setting for ``asset``."""
        return self.leverage.get((account.account_id, asset.code), self.default_leverage)

    def set_leverage(self, account: Account, asset: Asset, leverage: int) -> None:
        """Change the leverage setting (applies to new orders)."""
        if leverage < 1 or leverage > asset.max_leverage:
            raise EngineError(Reason.BAD_LEVERAGE, str(leverage))
        self.leverage[(account.account_id, asset.code)] = leverage

    # -- futures arithmetic ------------------------------------------------------------

    def notional(self, asset: Asset, contracts: Decimal, price: Decimal) -> Decimal:
        """USDT value of ``contracts`` at ``price``."""
        return contracts * self.contract_size(asset) * price

    def unrealised(self, position: Position) -> Decimal:
        """Mark-to-market PnL of a position at the current price."""
        price = self.prices.price(position.asset.code)
        return (price - position.entry_price) * position.qty * self.contract_size(position.asset)

    def position_margin(self, position: Position) -> Decimal:
        """Margin held by a position."""
        return abs(self.notional(position.asset, position.qty, position.entry_price)) / position.leverage

    def futures_summary(self, account: Account) -> dict[str, Decimal]:
        """Cash, margins, unrealised PnL, equity and available balance in USDT."""
        cash = account.futures.get(QUOTE, ZERO)
        order_margin = account.futures_locked.get(QUOTE, ZERO)
        positions = self.account_positions(account)
        position_margin = sum((self.position_margin(p) for p in positions), ZERO)
        unrealised = sum((self.unrealised(p) for p in positions), ZERO)
        return {
            "cash": cash,
            "order_margin": order_margin,
            "position_margin": position_margin,
            "unrealised": unrealised,
            "equity": cash + unrealised,
            "available": cash - order_margin - position_margin + min(unrealised, ZERO),
        }

    # -- placing -----------------------------------------------------------------------

    def place(self, account: Account, req: OrderRequest, *, post_only_rejects: bool = True) -> Order:
        """Accept, fill what is marketable now, and rest the rest (or refuse with EngineError).

        A post-only order that would take is refused (``WOULD_TAKE``), or, where the venue
        does that instead (``post_only_rejects=False``), accepted and cancelled at once.
        """
        if req.client_id and self.find(account, req.kind, client_id=req.client_id) is not None:
            raise EngineError(Reason.DUPLICATE_CLIENT_ID, req.client_id)
        now = self.clock.now_ms()
        leverage = req.leverage or self.leverage_of(account, req.asset)
        if req.kind == "futures" and (leverage < 1 or leverage > req.asset.max_leverage):
            raise EngineError(Reason.BAD_LEVERAGE, str(leverage))
        order = Order(self.next_id(), account.account_id, req, now, now, leverage=leverage)
        bid, ask = self.top_of_book(req.kind, req.asset)
        touch = ask if req.side == "buy" else bid
        marketable = req.type == "market" or (
            req.price is not None and (req.price >= ask if req.side == "buy" else req.price <= bid)
        )
        if marketable and req.tif == "POST_ONLY":
            if post_only_rejects:
                raise EngineError(Reason.WOULD_TAKE)
            order.status, order.canceled = "canceled", True
            self.orders[order.order_id] = order
            return order
        if req.kind == "futures":
            self._check_futures(account, order, touch if marketable else req.price or touch)
        if marketable:
            self._check_spot_funds(account, order, touch)
            self._execute(account, order, touch, maker=False)
            order.status = "filled"
        elif req.tif in ("IOC", "FOK"):
            order.status = "canceled"
            order.canceled = True
        else:
            self._lock(account, order)
        self.orders[order.order_id] = order
        return order

    def _check_spot_funds(self, account: Account, order: Order, price: Decimal) -> None:
        if order.kind != "spot":
            return
        req = order.request
        rate = self.fees["spot"].taker
        if req.side == "buy":
            cost = req.funds if req.qty is None and req.funds is not None else (req.qty or ZERO) * price
            if account.free("spot", QUOTE) < cost * (1 + rate):
                raise EngineError(Reason.INSUFFICIENT_BALANCE, QUOTE)
        else:
            qty = req.qty if req.qty is not None else self._qty_for_funds(order, price)
            if account.free("spot", req.asset.code) < qty:
                raise EngineError(Reason.INSUFFICIENT_BALANCE, req.asset.code)

    def _check_futures(self, account: Account, order: Order, price: Decimal) -> None:
        req = order.request
        position = self.position(account, req.asset)
        if req.reduce_only:
            reducing = position is not None and (position.qty > 0) == (req.side == "sell")
            if not reducing:
                raise EngineError(Reason.NO_POSITION)
            return
        qty = req.qty or ZERO
        margin = self.notional(req.asset, qty, price) / order.leverage
        fee = self.notional(req.asset, qty, price) * self.fees["futures"].taker
        if self.futures_summary(account)["available"] < margin + fee:
            raise EngineError(Reason.INSUFFICIENT_BALANCE, QUOTE)

    def _lock(self, account: Account, order: Order) -> None:
        req = order.request
        price = req.price or ZERO
        qty = req.qty or ZERO
        if req.kind == "spot":
            if req.side == "buy":
                amount, currency = qty * price * (1 + self.fees["spot"].taker), QUOTE
            else:
                amount, currency = qty, req.asset.code
            if account.free("spot", currency) < amount:
                raise EngineError(Reason.INSUFFICIENT_BALANCE, currency)
            account.spot_locked[currency] = account.spot_locked.get(currency, ZERO) + amount
        else:
            if req.reduce_only:
                return
            amount, currency = self.notional(req.asset, qty, price) / order.leverage, QUOTE
            account.futures_locked[currency] = account.futures_locked.get(currency, ZERO) + amount
        order.locked, order.locked_currency = amount, currency

    def _unlock(self, account: Account, order: Order) -> None:
        if not order.locked:
            return
        wallet = account.spot_locked if order.kind == "spot" else account.futures_locked
        wallet[order.locked_currency] = max(ZERO, wallet.get(order.locked_currency, ZERO) - order.locked)
        order.locked = ZERO

    def _qty_for_funds(self, order: Order, price: Decimal) -> Decimal:
        funds = order.request.funds or ZERO
        step = markets.step(order.asset.amount_decimals)
        return (funds / price).quantize(step, rounding=ROUND_DOWN)

    def _execute(self, account: Account, order: Order, price: Decimal, *, maker: bool) -> None:
        req = order.request
        rate = self.fees[req.kind].maker if maker else self.fees[req.kind].taker
        now = self.clock.now_ms()
        if req.kind == "spot":
            qty = req.qty if req.qty is not None else self._qty_for_funds(order, price)
            quote = qty * price
            fee = quote * rate
            base = req.asset.code
            if req.side == "buy":
                account.spot[QUOTE] = account.spot.get(QUOTE, ZERO) - quote - fee
                account.spot[base] = account.spot.get(base, ZERO) + qty
            else:
                account.spot[base] = account.spot.get(base, ZERO) - qty
                account.spot[QUOTE] = account.spot.get(QUOTE, ZERO) + quote - fee
            fill = Fill(self.next_id(), order.order_id, now, price, qty, quote, fee, maker)
        else:
            qty = req.qty or ZERO
            position = self.position(account, req.asset)
            if req.reduce_only and position is not None:
                qty = min(qty, abs(position.qty))
            quote = self.notional(req.asset, qty, price)
            fee = quote * rate
            realised = self._move_position(account, order, qty, price, now)
            account.futures[QUOTE] = account.futures.get(QUOTE, ZERO) + realised - fee
            fill = Fill(self.next_id(), order.order_id, now, price, qty, quote, fee, maker, realised)
        order.fills.append(fill)
        order.filled_qty += fill.qty
        order.filled_quote += fill.quote
        order.fee += fill.fee
        order.updated_ms = now

    def _move_position(self, account: Account, order: Order, qty: Decimal, price: Decimal, now: int) -> Decimal:
        """Apply a futures fill to the position; returns the realised PnL."""
        asset = order.asset
        key = (account.account_id, asset.code)
        delta = qty if order.side == "buy" else -qty
        position = self.positions.get(key)
        if position is None or position.qty == 0:
            self.positions[key] = Position(
                account.account_id,
                asset,
                delta,
                price,
                order.leverage,
                order.request.margin_mode,
                now,
                now,
                position_id=self.next_id(),
            )
            return ZERO
        size = self.contract_size(asset)
        realised = ZERO
        if (position.qty > 0) == (delta > 0):
            total = position.qty + delta
            position.entry_price = (position.entry_price * position.qty + price * delta) / total
            position.qty = total
        else:
            closing = min(abs(delta), abs(position.qty))
            direction = Decimal(1) if position.qty > 0 else Decimal(-1)
            realised = (price - position.entry_price) * closing * size * direction
            position.realised_pnl += realised
            remainder = position.qty + delta
            if remainder != 0 and (remainder > 0) != (position.qty > 0):
                position.entry_price = price  # flipped: the rest opens at the fill price
                position.opened_ms = now
            position.qty = remainder
        position.leverage = order.leverage
        position.updated_ms = now
        return realised

    # -- cancelling and matching -------------------------------------------------------

    def cancel(self, account: Account, order: Order) -> Order:
        """Cancel a working order (EngineError NOT_OPEN if it is done)."""
        if not order.is_open:
            raise EngineError(Reason.NOT_OPEN, order.order_id)
        self._unlock(account, order)
        order.status = "canceled"
        order.canceled = True
        order.updated_ms = self.clock.now_ms()
        return order

    def match(self, accounts: dict[str, Account]) -> list[Order]:
        """Fill resting limit orders the current prices reach; returns what filled."""
        filled: list[Order] = []
        for order in list(self.orders.values()):
            if not order.is_open or order.request.price is None:
                continue
            price = self.prices.price(order.asset.code)
            limit = order.request.price
            if (order.side == "buy" and price <= limit) or (order.side == "sell" and price >= limit):
                account = accounts.get(order.account_id)
                if account is None:
                    continue
                self._unlock(account, order)
                if (
                    order.kind == "futures"
                    and order.request.reduce_only
                    and self.position(account, order.asset) is None
                ):
                    order.status, order.canceled = "canceled", True
                    continue
                self._execute(account, order, limit, maker=True)
                order.status = "filled"
                filled.append(order)
        return filled

    def open_count(self, orders: Iterable[Order]) -> int:
        """How many of ``orders`` are working."""
        return sum(1 for o in orders if o.is_open)
