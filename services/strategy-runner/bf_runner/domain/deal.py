"""One pair's DCA cycle: react to prices and fills, keep the live orders as they should be.

The orders a deal wants (take profit or lowered exit, next reinforcement, partial close,
stop sell) are derived from its state; :func:`sync` compares them with the live orders,
cancels what no longer matches and places what is missing. A new sell is placed only when
no other sell of the deal is live (on spot the old one still locks the coins), a new buy
only when no other buy is live. Every order is persisted (status NEW) before it is sent,
under a deterministic client order id, so a crash at any point is repaired by re-sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import MarketRules

from bf_runner.domain import ladder
from bf_runner.domain.commands import Cancel, Command, Fill, Place, Query
from bf_runner.domain.ids import client_order_id
from bf_runner.domain.model import Deal, Order, OrderKind, OrderStatus, Phase
from bf_runner.domain.rounding import floor_to

ZERO = Decimal(0)
NEG_INF = Decimal("-Infinity")
POS_INF = Decimal("Infinity")

#: An order whose price was crossed is asked about at most this often.
QUERY_INTERVAL_MS = 2_000

TERMINAL = frozenset({"closed", "canceled", "rejected", "expired"})


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a deal needs from its strategy for one decision."""

    strategy_id: str
    params: StrategyParams
    rules: MarketRules
    headroom: Decimal  # margin limit minus the strategy's exposure
    may_trade: bool  # status RUNNING: new orders allowed
    now_ms: int


# ----------------------------------------------------------------------------- helpers


def _new_order(c: Ctx, d: Deal, kind: OrderKind, side: str, type_: str, price: Decimal,
               amount: Decimal, step: int = 0) -> tuple[Deal, Order]:
    seq = d.seq + 1
    order = Order(
        client_order_id=client_order_id(c.strategy_id, d.pair, d.cycle, seq, kind.value),
        kind=kind, step=step, side=side, type=type_, price=price, amount=amount,  # type: ignore[arg-type]
    )
    return d.model_copy(update={"seq": seq, "orders": (*d.orders, order)}), order


def _replace(d: Deal, order: Order) -> Deal:
    orders = tuple(order if o.client_order_id == order.client_order_id else o for o in d.orders)
    return d.model_copy(update={"orders": orders})


def _cancel(d: Deal, orders: tuple[Order, ...], cmds: list[Command]) -> Deal:
    for order in orders:
        if order.status is not OrderStatus.CANCELING:
            d = _replace(d, order.model_copy(update={"status": OrderStatus.CANCELING}))
            cmds.append(Cancel(d.pair, order.client_order_id))
    return d


def _to(d: Deal, phase: Phase, **update: object) -> Deal:
    return d.model_copy(update={"phase": d.phase.check(phase), **update})


def next_add(c: Ctx, d: Deal) -> Order | None:
    """The reinforcement the deal would place now (no id yet), or None."""
    p, r = c.params, c.rules
    n = d.adds_done + 1
    if d.entry_price is None or n > p.reinforcement.max_adds:
        return None
    price = ladder.add_price(p, r, d.entry_price, n)
    if price <= 0:
        return None
    quote = min(ladder.add_quote(p, n), c.headroom)
    amount = ladder.amount_for(r, quote, price) if quote > 0 else ZERO
    if not ladder.tradable(r, amount, price):
        return None
    return Order(client_order_id="", kind=OrderKind.ADD, step=n, side="buy", type="limit",
                 price=price, amount=amount)


def exhausted(c: Ctx, d: Deal) -> bool:
    """No reinforcement left: all done, or none fits the margin limit and exchange minimums."""
    if d.adds_done >= c.params.reinforcement.max_adds:
        return True
    return not d.live("buy") and next_add(c, d) is None


def _recovery_price(c: Ctx, d: Deal) -> Decimal | None:
    rm = c.params.recovery_mode
    if d.phase is not Phase.IN_POSITION or not rm.enabled or d.qty <= 0 or not exhausted(c, d):
        return None
    return ladder.drawdown_price(c.params, d.cost / d.qty)


def _partial_amount(c: Ctx, d: Deal) -> Decimal:
    sell_all = ladder.sellable(c.rules, d.qty)
    part = ladder.sellable(c.rules, d.qty * ladder.pct(c.params.recovery_mode.partial_close_pct))
    # Never leave an unsellable remainder behind: then the part is the whole position.
    if part > 0 and ladder.sellable(c.rules, d.qty - part) == 0:
        return sell_all
    return part


def _partial_price(c: Ctx, d: Deal) -> Decimal | None:
    rm = c.params.recovery_mode
    if (d.phase is not Phase.RECOVERY or d.partial_due or rm.partial_close_pct <= 0
            or d.partial_closes >= rm.max_partial_closes or d.qty <= 0 or _partial_amount(c, d) == 0):
        return None
    reference = d.last_partial_price if d.last_partial_price is not None else d.cost / d.qty
    return ladder.drawdown_price(c.params, reference)


def _stop_price(c: Ctx, d: Deal) -> Decimal | None:
    if d.phase not in (Phase.IN_POSITION, Phase.RECOVERY):
        return None
    return ladder.stop_loss_price(c.params, d)


def watch_band(c: Ctx, d: Deal) -> tuple[Decimal, Decimal]:
    """Prices strictly between the two bounds change nothing: :func:`on_tick` would be a no-op.

    Computed from the same trigger functions :func:`on_tick` uses, so it cannot disagree.
    """
    if d.phase is Phase.IDLE:
        return POS_INF, NEG_INF  # always evaluate: a cycle may open
    if d.phase is Phase.STOPPED:
        return NEG_INF, POS_INF
    lo, hi = NEG_INF, POS_INF
    for order in d.orders:
        if order.status is not OrderStatus.OPEN:
            continue
        if order.side == "buy":
            lo = max(lo, order.price)
            if order.kind is OrderKind.BASE:
                hi = min(hi, ladder.stale_entry_price(c.params, order.price))
        elif order.type == "limit":
            hi = min(hi, order.price)
    for trigger in (_stop_price(c, d), _recovery_price(c, d), _partial_price(c, d)):
        if trigger is not None:
            lo = max(lo, trigger)
    return lo, hi


# ----------------------------------------------------------------------------- events


def on_tick(c: Ctx, d: Deal, price: Decimal, cmds: list[Command]) -> Deal:
    """React to the last price of the deal's symbol."""
    if not c.may_trade or d.phase is Phase.STOPPED:
        return d
    d = _detect_fills(c, d, price, cmds)
    if d.phase is Phase.IDLE:
        return _open_cycle(c, d, price, cmds)
    if d.phase is Phase.ENTERING:
        base = next((o for o in d.orders if o.kind is OrderKind.BASE), None)
        if base is not None and base.status is OrderStatus.OPEN and price >= ladder.stale_entry_price(c.params, base.price):
            d = _cancel(d, (base,), cmds)  # the market ran away: re-enter nearer to it
        return d
    stop = _stop_price(c, d)
    if stop is not None and price <= stop:
        d = _to(d, Phase.STOPPING, stop_reason="stop_loss", partial_due=False)
        return sync(c, d, cmds)
    recovery = _recovery_price(c, d)
    if recovery is not None and price <= recovery:
        d = _to(d, Phase.RECOVERY)
    partial = _partial_price(c, d)
    if partial is not None and price <= partial:
        d = d.model_copy(update={"partial_due": True})
    return sync(c, d, cmds)


def _detect_fills(c: Ctx, d: Deal, price: Decimal, cmds: list[Command]) -> Deal:
    for order in d.orders:
        if order.status is not OrderStatus.OPEN:
            continue
        crossed = price <= order.price if order.side == "buy" else (order.type == "limit" and price >= order.price)
        recent = order.queried_at_ms is not None and c.now_ms - order.queried_at_ms < QUERY_INTERVAL_MS
        if crossed and not recent:
            d = _replace(d, order.model_copy(update={"queried_at_ms": c.now_ms}))
            cmds.append(Query(d.pair, order.client_order_id))
    return d


def _open_cycle(c: Ctx, d: Deal, price: Decimal, cmds: list[Command]) -> Deal:
    p, r = c.params, c.rules
    if p.stop_conditions.max_cycles is not None and d.cycles_done >= p.stop_conditions.max_cycles:
        return _to(d, Phase.STOPPED, stop_reason="max_cycles")
    limit = ladder.marketable_buy_price(p, r, price)
    quote = min(p.base_order_quote, c.headroom)
    amount = ladder.amount_for(r, quote, limit) if quote > 0 else ZERO
    # After a fee paid in coins the position must still be sellable, or the cycle could never close.
    net = amount * (1 - ladder.pct(p.fee_pct))
    if not ladder.tradable(r, amount, limit) or ladder.sellable(r, net) == 0:
        return d  # no room under the margin limit now; another pair may free some
    d, order = _new_order(c, _to(d, Phase.ENTERING), OrderKind.BASE, "buy", "limit", limit, amount)
    cmds.append(Place(d.pair, order))
    return d


def on_fill(c: Ctx, d: Deal, fill: Fill, cmds: list[Command]) -> Deal:
    """Apply an order's reported state (cumulative) and adjust the live orders."""
    order = d.find(fill.client_order_id)
    if order is None or fill.filled < order.filled:
        return d  # unknown or stale report: fills only grow
    delta = fill.filled - order.filled
    d_cost = fill.cost - order.cost
    d_fee_q = max(ZERO, fill.fee_quote - order.fee_quote)
    d_fee_b = max(ZERO, fill.fee_base - order.fee_base)
    if delta > 0 or d_fee_q > 0 or d_fee_b > 0:
        d = _apply_trade(d, order.side, delta, d_cost, d_fee_q, d_fee_b)
    updated = order.model_copy(update={
        "filled": fill.filled, "cost": fill.cost, "fee_quote": max(order.fee_quote, fill.fee_quote),
        "fee_base": max(order.fee_base, fill.fee_base),
        "status": order.status if order.status is OrderStatus.CANCELING else OrderStatus.OPEN,
    })
    if fill.status in TERMINAL:
        d = d.model_copy(update={"orders": tuple(o for o in d.orders if o.client_order_id != order.client_order_id)})
        d = _on_terminal(c, d, updated)
    else:
        d = _replace(d, updated)
    return sync(c, d, cmds)


def _apply_trade(d: Deal, side: str, amount: Decimal, cost: Decimal, fee_q: Decimal, fee_b: Decimal) -> Deal:
    if side == "buy":
        return d.model_copy(update={"qty": d.qty + amount - fee_b, "cost": d.cost + cost,
                                    "fees_quote": d.fees_quote + fee_q})
    sold = min(amount + fee_b, d.qty)
    share = sold / d.qty if d.qty > 0 else Decimal(1)
    cost_out = d.cost * share
    fees_out = d.fees_quote * share
    pnl = cost - fee_q - cost_out - fees_out
    return d.model_copy(update={"qty": d.qty - sold, "cost": d.cost - cost_out,
                                "fees_quote": d.fees_quote - fees_out, "realized_pnl": d.realized_pnl + pnl})


def _on_terminal(c: Ctx, d: Deal, order: Order) -> Deal:
    filled = order.filled > 0
    if order.kind is OrderKind.BASE:
        if not filled:
            return _to(d, Phase.IDLE)
        entry = order.cost / (order.filled * c.rules.contract_size)
        return _to(d, Phase.IN_POSITION, entry_price=entry)
    if order.kind is OrderKind.ADD and filled:
        return d.model_copy(update={"adds_done": d.adds_done + 1})
    if order.kind is OrderKind.PARTIAL:
        update: dict[str, object] = {"partial_due": False}
        if filled:
            update |= {"partial_closes": d.partial_closes + 1,
                       "last_partial_price": order.cost / (order.filled * c.rules.contract_size)}
        return d.model_copy(update=update)
    return d


def on_failed(d: Deal, client_order_id: str) -> Deal:
    """Drop an order the exchange refused or that could not be cancelled."""
    order = d.find(client_order_id)
    if order is None:
        return d
    d = d.model_copy(update={"orders": tuple(o for o in d.orders if o is not order)})
    if order.kind is OrderKind.BASE and d.phase is Phase.ENTERING and d.qty <= 0:
        d = _to(d, Phase.IDLE)
    if order.kind is OrderKind.PARTIAL:
        d = d.model_copy(update={"partial_due": False})
    return d


# ----------------------------------------------------------------------------- reconciliation


def sync(c: Ctx, d: Deal, cmds: list[Command]) -> Deal:
    """Bring the live orders in line with what the deal's state wants."""
    if not c.may_trade or d.phase in (Phase.IDLE, Phase.ENTERING, Phase.STOPPED):
        return d
    if ladder.sellable(c.rules, d.qty) == 0 and not d.live("sell"):
        return _close_cycle(c, d, cmds)
    d = _sync_sells(c, d, cmds)
    return _sync_buys(c, d, cmds)


def _close_cycle(c: Ctx, d: Deal, cmds: list[Command]) -> Deal:
    buys = d.live("buy")
    if buys:
        return _cancel(d, buys, cmds)  # finish when the last reinforcement is cancelled
    if d.phase is Phase.STOPPING:
        return _to(d, Phase.STOPPED)
    done = d.cycles_done + 1
    max_cycles = c.params.stop_conditions.max_cycles
    common: dict[str, object] = {"cycles_done": done, "adds_done": 0, "partial_closes": 0,
                                 "partial_due": False, "last_partial_price": None, "entry_price": None}
    if max_cycles is not None and done >= max_cycles:
        return _to(d, Phase.STOPPED, stop_reason="max_cycles", **common)
    # Dust (below the exchange minimum) stays in qty/cost and is sold with the next cycle.
    return _to(d, Phase.IDLE, cycle=d.cycle + 1, seq=0, **common)


def _desired_sell(c: Ctx, d: Deal) -> Order | None:
    qty = ladder.sellable(c.rules, d.qty)
    if qty == 0:
        return None
    # Market sells carry the average entry as their reference price (for the record only).
    avg = floor_to(d.cost / d.qty, c.rules.price_step)
    if d.phase is Phase.STOPPING:
        return Order(client_order_id="", kind=OrderKind.STOP, side="sell", type="market", price=avg, amount=qty)
    if d.partial_due:
        amount = _partial_amount(c, d)
        if amount > 0:
            return Order(client_order_id="", kind=OrderKind.PARTIAL, step=d.partial_closes + 1, side="sell",
                         type="market", price=avg, amount=amount)
    price = ladder.exit_price(c.params, c.rules, d)
    return Order(client_order_id="", kind=OrderKind.TP, side="sell", type="limit", price=price, amount=qty)


def _matches(live: Order, want: Order) -> bool:
    if live.kind is not want.kind or live.status is OrderStatus.CANCELING:
        return False
    if live.type == "market":
        return True
    return live.price == want.price and live.remaining == want.amount and live.step == want.step


def _sync_sells(c: Ctx, d: Deal, cmds: list[Command]) -> Deal:
    want = _desired_sell(c, d)
    live = d.live("sell")
    if want is not None and any(_matches(o, want) for o in live):
        return d
    d = _cancel(d, live, cmds)
    if d.live("sell") or want is None:
        return d
    d, order = _new_order(c, d, want.kind, "sell", want.type, want.price, want.amount, want.step)
    cmds.append(Place(d.pair, order))
    return d


def _sync_buys(c: Ctx, d: Deal, cmds: list[Command]) -> Deal:
    live = d.live("buy")
    want = next_add(c, d) if d.phase is Phase.IN_POSITION else None
    keep = [o for o in live if o.kind is OrderKind.ADD and o.status is not OrderStatus.CANCELING
            and d.phase is Phase.IN_POSITION and o.step == d.adds_done + 1
            and d.entry_price is not None and o.price == ladder.add_price(c.params, c.rules, d.entry_price, o.step)]
    if keep:
        return _cancel(d, tuple(o for o in live if o not in keep), cmds)
    d = _cancel(d, live, cmds)
    if d.live("buy") or want is None:
        return d
    d, order = _new_order(c, d, OrderKind.ADD, "buy", "limit", want.price, want.amount, want.step)
    cmds.append(Place(d.pair, order))
    return d


def resume_commands(d: Deal) -> list[Command]:
    """After a takeover or a pause: re-send what may not have reached the exchange, ask about the rest."""
    cmds: list[Command] = []
    for order in d.orders:
        if order.status is OrderStatus.NEW:
            cmds.append(Place(d.pair, order))
        elif order.status is OrderStatus.OPEN:
            cmds.append(Query(d.pair, order.client_order_id))
        else:
            cmds.append(Cancel(d.pair, order.client_order_id))
    return cmds


def cancel_all(d: Deal, cmds: list[Command]) -> Deal:
    """Cancel every live order of the deal (disabling)."""
    return _cancel(d, d.orders, cmds)
