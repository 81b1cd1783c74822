"""What the engine asks the runner to do, and what the runner reports back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bf_runner.domain.model import Order


@dataclass(frozen=True, slots=True)
class Place:
    """Place ``order`` (idempotent on its client order id)."""

    pair: str
    order: Order


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel an order; the reply carries its final state (fills included)."""

    pair: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class Query:
    """Fetch an order's current state (the price crossed it, or after a takeover)."""

    pair: str
    client_order_id: str


Command = Place | Cancel | Query


@dataclass(frozen=True, slots=True)
class Fill:
    """An order's state as the exchange reports it (cumulative ``filled``/``cost``/fees).

    ``status``: ``open`` (resting, maybe partly filled), ``closed`` (fully filled),
    ``canceled``/``expired`` (done, maybe partly filled), ``rejected`` (never existed).
    """

    client_order_id: str
    status: Literal["open", "closed", "canceled", "rejected", "expired"]
    filled: Decimal
    cost: Decimal
    fee_quote: Decimal = Decimal(0)
    fee_base: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class OrderFailed:
    """The connector could not do what was asked, for a reason retrying will not fix."""

    client_order_id: str
    code: str
    detail: str = ""
