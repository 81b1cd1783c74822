"""The trade probe's test order: a tiny, valid limit buy far below the market.

Test-order endpoints validate an order and never match it. The order is still shaped as if it
could be real: it must pass the exchange's precision and minimum checks (or the answer says
nothing about trade rights), and should anything ever treat it as a real order, a buy 20 %
under the last price with the minimum size neither fills nor costs more than the minimum.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bf_shared.messages import Frozen

#: How far under the last price the buy is placed (0.8 = 20 % below). Within the usual
#: price-protection bands of test endpoints (a buy may not be absurdly low either).
DISCOUNT = Decimal("0.8")
#: Head-room over the minimum notional so rounding the price down never dips below it.
NOTIONAL_MARGIN = Decimal("1.1")


class SymbolRules(Frozen):
    """The exchange's rules for one symbol, in decimal units (zero = no such rule)."""

    price_tick: Decimal
    size_step: Decimal
    min_size: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)


class OrderShape(Frozen):
    """Price and size of the probe order, already on the exchange's grid."""

    price: Decimal
    size: Decimal


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step if step > 0 else value


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step if step > 0 else value


def probe_order(last_price: Decimal, rules: SymbolRules) -> OrderShape:
    """The smallest valid limit buy at about 80 % of ``last_price``.

    Raises ``ValueError`` if the market gives no usable price.
    """
    if last_price <= 0:
        raise ValueError("no market price")
    price = max(_floor(last_price * DISCOUNT, rules.price_tick), rules.price_tick)
    if price <= 0:
        raise ValueError("no valid price on the tick grid")
    size = max(rules.min_size, rules.min_notional * NOTIONAL_MARGIN / price)
    size = _ceil(size, rules.size_step) if size > 0 else rules.size_step
    if size <= 0:
        raise ValueError("no valid size on the lot grid")
    return OrderShape(price=price.normalize(), size=size.normalize())


def decimals_step(decimals: int) -> Decimal:
    """``8`` -> ``0.00000001`` (exchanges that publish a precision as a digit count)."""
    return Decimal(1).scaleb(-decimals)
