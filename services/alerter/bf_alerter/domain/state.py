"""The little state the rules need: last known status per connection, outage per exchange."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bf_shared.messages import Frozen


class ConnectionState(Frozen):
    """Last verdict seen for a connection; ``as_of`` orders verdicts that arrive out of order."""

    connection_id: str
    user_id: str
    exchange: str
    status: Literal["untested", "online", "failed"]
    as_of: datetime
    name: str | None = None  # for readable alert texts (from added/renamed events)


class ExchangeState(Frozen):
    """A run of ``exchange_unavailable`` failures on one exchange.

    ``unavailable_since`` is the first failure of the current run; any verdict proving the
    exchange answered (a pass, or a failure about the key itself) ends the run.
    """

    exchange: str
    unavailable_since: datetime | None = None
    last_failure_at: datetime | None = None
    last_ok_at: datetime | None = None
