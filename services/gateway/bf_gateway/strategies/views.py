"""What the strategy routes answer: the resolved parameters, the status and the live figures."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bf_shared.strategy import Market, Num, RecoveryMode, Reinforcement, RiskLevel, StopConditions
from bf_shared.strategy_messages import StrategyError, StrategySpec, StrategyStatus, StrategyStatusView


class PairOut(BaseModel):
    """One pair's cycle."""

    pair: str
    phase: str
    cycle: int
    cycles_done: int
    adds_done: int
    position_qty: Num
    average_price: Num | None
    exit_price: Num | None
    recovery: bool
    open_orders: int
    realized_pnl_quote: Num


class StrategyOut(BaseModel):
    """One strategy. Every parameter is shown resolved (presets applied)."""

    model_config = ConfigDict(frozen=True)

    id: str
    connection_id: str
    exchange: str
    name: str
    pairs: tuple[str, ...]
    pair_group: str | None
    market: Market
    risk_level: RiskLevel
    base_order_quote: Num
    margin_limit_quote: Num
    reinforcement: Reinforcement
    take_profit_pct: Num
    recovery_mode: RecoveryMode
    stop_conditions: StopConditions
    fee_pct: Num
    max_slippage_pct: Num
    leverage: int
    status: StrategyStatus
    reason: str | None
    error: StrategyError | None
    exposure_quote: Num
    realized_pnl_quote: Num
    pair_states: tuple[PairOut, ...]
    version: int
    created_at: datetime
    updated_at: datetime


class StrategyListOut(BaseModel):
    strategies: list[StrategyOut]


def _status(spec: StrategySpec, view: StrategyStatusView | None) -> tuple[StrategyStatus, str | None]:
    """The runner's report, except where the user's last word is newer than it."""
    if not spec.enabled:
        if view is not None and view.finished:
            return "disabled", view.reason or "disabled by the user"
        return "disabled", "disabled by the user; cancelling open orders"
    if view is None:
        return ("paused", "user") if spec.paused_by_user else ("starting", None)
    if view.spec_version < spec.version and spec.paused_by_user and view.status == "running":
        return "paused", "user"
    return view.status, view.reason


def strategy_out(spec: StrategySpec, view: StrategyStatusView | None) -> StrategyOut:
    """The API representation of a strategy."""
    p = spec.params
    status, reason = _status(spec, view)
    return StrategyOut(
        id=spec.strategy_id, connection_id=spec.connection_id, exchange=spec.exchange, name=p.name,
        pairs=p.pairs, pair_group=p.pair_group, market=p.market, risk_level=p.risk_level,
        base_order_quote=p.base_order_quote, margin_limit_quote=p.margin_limit_quote,
        reinforcement=p.reinforcement, take_profit_pct=p.take_profit_pct, recovery_mode=p.recovery_mode,
        stop_conditions=p.stop_conditions, fee_pct=p.fee_pct, max_slippage_pct=p.max_slippage_pct,
        leverage=p.leverage, status=status, reason=reason, error=view.error if view is not None else None,
        exposure_quote=view.exposure_quote if view is not None else 0,
        realized_pnl_quote=view.realized_pnl_quote if view is not None else 0,
        pair_states=tuple(PairOut.model_validate(ps.model_dump()) for ps in view.pairs) if view is not None else (),
        version=spec.version, created_at=spec.created_at, updated_at=spec.updated_at,
    )
