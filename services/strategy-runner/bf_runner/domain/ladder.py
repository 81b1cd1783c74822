"""Prices and sizes of a cycle: reinforcement ladder, exits, triggers. Pure arithmetic.

Buy prices round down and sell prices round up to the price step, amounts round down to
the amount step: rounding never makes an order cost more than was reserved for it, nor
sells below its target.
"""

from __future__ import annotations

from decimal import Decimal

from bf_shared.strategy import StrategyParams, add_deviation_pct, add_size_quote
from bf_shared.strategy_messages import MarketRules

from bf_runner.domain.model import Deal, Phase
from bf_runner.domain.rounding import ceil_to, floor_to

HUNDRED = Decimal(100)
ONE = Decimal(1)
ZERO = Decimal(0)
CENT = Decimal("0.01")


def pct(value: Decimal) -> Decimal:
    """``value`` percent as a fraction."""
    return value / HUNDRED


def notional(rules: MarketRules, amount: Decimal, price: Decimal) -> Decimal:
    """Quote value of ``amount`` (base units, or contracts) at ``price``."""
    return amount * rules.contract_size * price


def amount_for(rules: MarketRules, quote: Decimal, price: Decimal) -> Decimal:
    """The largest tradable amount whose notional at ``price`` is at most ``quote``."""
    return floor_to(quote / (price * rules.contract_size), rules.amount_step)


def tradable(rules: MarketRules, amount: Decimal, price: Decimal) -> bool:
    """Whether the exchange accepts an order of ``amount`` at ``price``."""
    return amount > 0 and amount >= rules.min_amount and notional(rules, amount, price) >= rules.min_cost


def sellable(rules: MarketRules, qty: Decimal) -> Decimal:
    """What of a position can be sold in one order (0 when only dust is left)."""
    amount = floor_to(qty, rules.amount_step)
    return amount if amount > 0 and amount >= rules.min_amount else ZERO


def marketable_buy_price(params: StrategyParams, rules: MarketRules, last: Decimal) -> Decimal:
    """A limit price that fills now but never above ``last`` plus the allowed slippage."""
    return ceil_to(last * (ONE + pct(params.max_slippage_pct)), rules.price_step)


def stale_entry_price(params: StrategyParams, base_price: Decimal) -> Decimal:
    """Once the market reaches this, an unfilled base order is re-placed nearer the market."""
    return base_price * (ONE + pct(params.max_slippage_pct))


def add_price(params: StrategyParams, rules: MarketRules, entry: Decimal, n: int) -> Decimal:
    """Limit price of add ``n`` (1-based) below the base fill price ``entry``."""
    return floor_to(entry * (ONE - pct(add_deviation_pct(params, n))), rules.price_step)


def add_quote(params: StrategyParams, n: int) -> Decimal:
    """Quote size of add ``n`` (1-based), before the margin limit."""
    return add_size_quote(params, n)


def take_profit_price(params: StrategyParams, rules: MarketRules, deal: Deal) -> Decimal:
    """Average entry plus the take profit."""
    avg = deal.cost / deal.qty
    return ceil_to(avg * (ONE + pct(params.take_profit_pct)), rules.price_step)


def breakeven_price(params: StrategyParams, rules: MarketRules, deal: Deal) -> Decimal:
    """The price at which selling the position returns its cost, buy fees and the sell fee."""
    fee = pct(params.fee_pct)
    return ceil_to((deal.cost + deal.fees_quote) / (deal.qty * (ONE - fee)), rules.price_step)


def exit_price(params: StrategyParams, rules: MarketRules, deal: Deal) -> Decimal:
    """The take profit, lowered to break-even plus fees in Recovery Mode when so configured."""
    target = take_profit_price(params, rules, deal)
    if deal.phase is Phase.RECOVERY and params.recovery_mode.exit == "breakeven":
        return min(target, breakeven_price(params, rules, deal))
    return target


def stop_loss_price(params: StrategyParams, deal: Deal) -> Decimal | None:
    """At or below this the position is sold and the pair stops (None: no stop loss)."""
    sl = params.stop_conditions.stop_loss_pct
    if sl is None or deal.qty <= 0:
        return None
    return deal.cost / deal.qty * (ONE - pct(sl))


def drawdown_price(params: StrategyParams, reference: Decimal) -> Decimal:
    """``reference`` lowered by the Recovery Mode trigger."""
    return reference * (ONE - pct(params.recovery_mode.trigger_drawdown_pct))
