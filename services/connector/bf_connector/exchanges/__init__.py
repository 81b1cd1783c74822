"""Exchange venues: ``base.py`` owns ccxt, one file per exchange holds only its quirks.

Adding an exchange is one venue file here, one line in :data:`VENUES`, its simulator fixtures
and a conformance-suite subclass.
"""

from __future__ import annotations

from bf_connector.exchanges.base import Venue
from bf_connector.exchanges.kucoin import Kucoin
from bf_connector.exchanges.mexc import Mexc

VENUES: dict[str, type[Venue]] = {"mexc": Mexc, "kucoin": Kucoin}


def venue_for(exchange: str) -> Venue:
    """The venue for ``exchange``; ``KeyError`` for an exchange this connector does not know."""
    return VENUES[exchange]()
