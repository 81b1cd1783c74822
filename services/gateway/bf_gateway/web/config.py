"""What the dashboard page is told about strategies before it asks the API anything.

The presets and pair groups come from :mod:`bf_shared.strategy`, the module the API resolves
strategy requests with, so the values the form pre-fills are the values the server would use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bf_shared.strategy import PAIR_GROUPS, PRESETS


def _plain(value: Any) -> Any:
    """``value`` with every Decimal as a JSON number (the form shows numbers, not strings)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def page_config() -> dict[str, Any]:
    """The body of ``/app/config.json``."""
    return {
        "strategy_presets": _plain(PRESETS),
        "pair_groups": {name: list(pairs) for name, pairs in PAIR_GROUPS.items()},
    }
