"""A strategy's decisions: every event in, the new state and the order commands out.

All functions are pure: ``(state, event, now) -> (state, commands)``. The runner persists
the returned state *before* sending the commands (orders are recorded as NEW with their
deterministic client ids), so whatever crashes, the next owner re-sends the same orders
and the exchange de-duplicates them. When nothing changes the same state object is
returned, which lets the runner skip persistence.
"""

from __future__ import annotations

from decimal import Decimal

from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import MarketRules, StrategyError

from bf_runner.domain import deal as deals
from bf_runner.domain.commands import Command, Fill, OrderFailed
from bf_runner.domain.model import Deal, OrderStatus, Phase, Status, StrategyState

Result = tuple[StrategyState, list[Command]]
ZERO = Decimal(0)


def new_state(strategy_id: str, spec_version: int, params: StrategyParams,
              rules: dict[str, MarketRules], symbols: dict[str, str]) -> StrategyState:
    """A fresh strategy, one idle deal per pair. ``symbols`` maps pair -> ccxt symbol; a pair
    without one (the exchange does not list it) gets no deal."""
    return StrategyState(
        strategy_id=strategy_id, spec_version=spec_version, params=params, rules=rules,
        deals=tuple(Deal(pair=symbols[p]) for p in params.pairs if p in symbols),
    )


def exposure(state: StrategyState) -> Decimal:
    """Quote at risk: position costs plus the notional reserved by live buy orders."""
    total = ZERO
    for d in state.deals:
        total += d.cost
        cs = state.rules[d.pair].contract_size
        for o in d.orders:
            if o.side == "buy":
                total += o.remaining * o.price * cs
    return total


def _ctx(state: StrategyState, pair: str, now_ms: int) -> deals.Ctx:
    return deals.Ctx(
        strategy_id=state.strategy_id, params=state.params, rules=state.rules[pair],
        headroom=state.params.margin_limit_quote - exposure(state),
        may_trade=state.status is Status.RUNNING, now_ms=now_ms,
    )


def _put(state: StrategyState, new: Deal) -> StrategyState:
    return state.model_copy(update={"deals": tuple(new if d.pair == new.pair else d for d in state.deals)})


def _status(state: StrategyState, to: Status, event: str | None = None, **update: object) -> StrategyState:
    """Move to ``to``; ``event`` ("paused:user", ...) is queued for publication."""
    if event is not None:
        update |= {"transitions": state.transitions + 1, "last_transition": event}
    return state.model_copy(update={"status": state.status.check(to), **update})


def _deal_of_order(state: StrategyState, client_order_id: str) -> Deal | None:
    for d in state.deals:
        if d.find(client_order_id) is not None:
            return d
    return None


def band(state: StrategyState, pair: str) -> tuple[Decimal, Decimal]:
    """Prices strictly inside this interval make :func:`on_tick` a no-op for ``pair``."""
    if state.status is not Status.RUNNING:
        return deals.NEG_INF, deals.POS_INF
    d = state.deal(pair)
    if d is None:
        return deals.NEG_INF, deals.POS_INF
    return deals.watch_band(_ctx(state, pair, 0), d)


# ----------------------------------------------------------------------------- lifecycle


def start(state: StrategyState, now_ms: int) -> Result:
    """Begin (or continue, after a takeover) trading: re-send/ask about every live order.

    A paused strategy sends nothing (its connection may be unusable): :func:`resume` will.
    A disabling one re-sends its cancels.
    """
    cmds: list[Command] = []
    if not state.paused_by or state.status is Status.DISABLING:
        for d in state.deals:
            cmds.extend(deals.resume_commands(d))
    if state.status is Status.STARTING:
        if state.paused_by:
            state = _status(state, Status.PAUSED, f"paused:{state.paused_by[-1]}", reason=state.paused_by[-1])
        else:
            state = _status(state, Status.RUNNING)
    return state, cmds


def pause(state: StrategyState, reason: str) -> Result:
    """Stop placing orders (live ones stay on the exchange) until every pause reason is lifted."""
    if reason in state.paused_by or state.status in (Status.DISABLING, Status.DISABLED):
        return state, []
    paused_by = (*state.paused_by, reason)
    if state.status is Status.RUNNING:
        return _status(state, Status.PAUSED, f"paused:{reason}", paused_by=paused_by, reason=reason), []
    return state.model_copy(update={"paused_by": paused_by}), []  # starting: start() pauses


def resume(state: StrategyState, reason: str, now_ms: int) -> Result:
    """Lift one pause reason; when none is left, reconcile and trade again."""
    if reason not in state.paused_by:
        return state, []
    paused_by = tuple(r for r in state.paused_by if r != reason)
    state = state.model_copy(update={"paused_by": paused_by})
    if paused_by or state.status is not Status.PAUSED:
        return state, []
    state = _status(state, Status.RUNNING, f"resumed:{reason}", reason=None)
    cmds: list[Command] = []
    for d in state.deals:
        cmds.extend(deals.resume_commands(d))
        new = deals.sync(_ctx(state, d.pair, now_ms), d, cmds)
        if new is not d:
            state = _put(state, new)
    return state, cmds


def update_params(state: StrategyState, spec_version: int, params: StrategyParams, now_ms: int) -> Result:
    """New parameters apply at once: exits and pending reinforcements are re-priced."""
    if spec_version <= state.spec_version:
        return state, []
    state = state.model_copy(update={"params": params, "spec_version": spec_version})
    return _sync_all(state, now_ms)


def disable(state: StrategyState, reason: str, detail: str = "") -> Result:
    """Cancel every open order; positions are left to the user. Idempotent.

    ``reason`` is a :data:`bf_shared.strategy_messages.DisableReason`; ``detail`` explains it.
    """
    if state.status in (Status.DISABLING, Status.DISABLED):
        return state, []
    state = _status(state, Status.DISABLING, reason=detail or reason, disable_reason=reason)
    cmds: list[Command] = []
    state = state.model_copy(update={"deals": tuple(deals.cancel_all(d, cmds) for d in state.deals)})
    return _maybe_disabled(state), cmds


def _maybe_disabled(state: StrategyState) -> StrategyState:
    if state.status is Status.DISABLING and not any(d.orders for d in state.deals):
        return _status(state, Status.DISABLED, f"disabled:{state.disable_reason or 'user'}")
    return state


def _sync_all(state: StrategyState, now_ms: int) -> Result:
    cmds: list[Command] = []
    for d in state.deals:
        new = deals.sync(_ctx(state, d.pair, now_ms), d, cmds)
        if new is not d:
            state = _put(state, new)
    return state, cmds


# ----------------------------------------------------------------------------- market and orders


def on_tick(state: StrategyState, pair: str, price: Decimal, now_ms: int) -> Result:
    """The last price of ``pair`` (ccxt symbol) moved."""
    if state.status is not Status.RUNNING:
        return state, []
    d = state.deal(pair)
    if d is None:
        return state, []
    cmds: list[Command] = []
    new = deals.on_tick(_ctx(state, pair, now_ms), d, price, cmds)
    if new is d:
        return state, cmds
    return _after_change(_put(state, new), now_ms, cmds)


def on_fill(state: StrategyState, fill: Fill, now_ms: int) -> Result:
    """An order's state as reported by the exchange (place, cancel and query replies)."""
    d = _deal_of_order(state, fill.client_order_id)
    if d is None:
        return state, []
    if fill.status == "rejected":
        return on_failed(state, OrderFailed(fill.client_order_id, "rejected", "the exchange rejected the order"))
    cmds: list[Command] = []
    new = deals.on_fill(_ctx(state, d.pair, now_ms), d, fill, cmds)
    if new is d:
        return state, cmds
    return _after_change(_put(state, new), now_ms, cmds)


def on_failed(state: StrategyState, failed: OrderFailed) -> Result:
    """The connector gave up on an order for a reason retrying will not fix."""
    d = _deal_of_order(state, failed.client_order_id)
    if d is None:
        return state, []
    order = d.find(failed.client_order_id)
    state = _put(state, deals.on_failed(d, failed.client_order_id))
    if order is not None and order.status is OrderStatus.CANCELING and failed.code == "order_not_found":
        return _maybe_disabled(state), []  # it never reached the exchange: nothing to cancel
    if state.status is Status.DISABLING:
        abandoned = (*state.abandoned_orders, failed.client_order_id)
        return _maybe_disabled(state.model_copy(update={"abandoned_orders": abandoned})), []
    error = StrategyError(code=failed.code, detail=failed.detail)
    if state.status in (Status.RUNNING, Status.PAUSED, Status.STARTING):
        state = _status(state, Status.FAILED, f"failed:{failed.code}", error=error,
                        reason=f"order refused: {failed.code}")
    return state, []


def _after_change(state: StrategyState, now_ms: int, cmds: list[Command]) -> Result:
    """Strategy-wide consequences of one deal's change: freed margin, stop conditions, end."""
    if state.status is Status.DISABLING:
        return _maybe_disabled(state), cmds
    if state.status is not Status.RUNNING:
        return state, cmds
    max_loss = state.params.stop_conditions.max_loss_quote
    realized = sum((d.realized_pnl for d in state.deals), ZERO)
    if max_loss is not None and realized <= -max_loss:
        detail = f"stop condition: realized loss {-realized:.2f} reached max_loss_quote"
        state, more = disable(state, "stop_condition", detail)
        return state, cmds + more
    if all(d.phase is Phase.STOPPED for d in state.deals):
        reasons = sorted({d.stop_reason or "stopped" for d in state.deals})
        state, more = disable(state, "stop_condition", f"stop condition: {', '.join(reasons)}")
        return state, cmds + more
    # Margin freed by one pair may let another place the reinforcement it had to skip.
    state, more = _sync_all(state, now_ms)
    return state, cmds + more


def fail(state: StrategyState, code: str, detail: str) -> StrategyState:
    """The strategy cannot run (e.g. a pair the exchange does not list)."""
    if state.status in (Status.FAILED, Status.DISABLING, Status.DISABLED):
        return state
    return _status(state, Status.FAILED, f"failed:{code}", error=StrategyError(code=code, detail=detail),
                   reason=detail)


def reconcile_commands(state: StrategyState) -> list[Command]:
    """Queries for every open order (periodic reconciliation) and re-sends for unconfirmed ones."""
    if state.status in (Status.DISABLED, Status.FAILED):
        return []
    cmds: list[Command] = []
    for d in state.deals:
        cmds.extend(deals.resume_commands(d))
    return cmds


def live_orders(state: StrategyState) -> int:
    """How many orders the strategy has live (for the status view)."""
    return sum(len(d.orders) for d in state.deals)
