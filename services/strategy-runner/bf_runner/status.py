"""The dashboard's view of a strategy, derived from its persisted state."""

from __future__ import annotations

from bf_shared.strategy_messages import PairStatus, StrategyStatusView

from bf_runner.domain import engine, ladder
from bf_runner.domain.model import OrderKind, Status, StrategyState


def status_view(state: StrategyState, runner_id: str | None) -> StrategyStatusView:
    """What ``status.<id>`` shows: status, reason, exposure and each pair's cycle."""
    pairs = []
    for d in state.deals:
        exit_order = next((o for o in d.orders if o.kind is OrderKind.TP), None)
        pairs.append(PairStatus(
            pair=d.pair, phase=d.phase.value, cycle=d.cycle, cycles_done=d.cycles_done, adds_done=d.adds_done,
            position_qty=d.qty, average_price=d.average.quantize(state.rules[d.pair].price_step) if d.average else None,
            exit_price=exit_order.price if exit_order is not None else None,
            recovery=d.phase.value == "recovery", open_orders=len(d.orders),
            realized_pnl_quote=d.realized_pnl.quantize(ladder.CENT),
        ))
    return StrategyStatusView(
        strategy_id=state.strategy_id, status=state.status.public,  # type: ignore[arg-type]
        finished=state.status is Status.DISABLED,
        reason=state.reason, error=state.error, spec_version=state.spec_version, runner_id=runner_id,
        exposure_quote=engine.exposure(state).quantize(ladder.CENT),
        realized_pnl_quote=sum((d.realized_pnl for d in state.deals), ladder.ZERO).quantize(ladder.CENT),
        pairs=tuple(pairs),
    )
