"""Point a ccxt exchange object at the simulator: every API URL gets the simulator's origin.

Only scheme and host change; the path suffixes ccxt relies on stay (MEXC futures URLs end in
``/api/v1/contract`` and ``/api/v1/private``). Works on ccxt's nested (MEXC) and flat (KuCoin)
``urls['api']`` alike. No ccxt import: any object with a ``urls`` dict will do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def with_origin(url: str, origin: str) -> str:
    """``https://api.mexc.com/api/v1/contract`` + ``http://127.0.0.1:9101`` -> ``http://127.0.0.1:9101/api/v1/contract``."""
    target = urlsplit(origin)
    parts = urlsplit(url)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def _rewrite(node: Any, origin: str) -> Any:
    if isinstance(node, str):
        return with_origin(node, origin)
    if isinstance(node, dict):
        return {name: _rewrite(value, origin) for name, value in node.items()}
    return node


def override_urls(exchange: Any, origin: str) -> None:
    """Rewrite every URL in ``exchange.urls['api']`` (nested or flat) to ``origin``."""
    exchange.urls["api"] = _rewrite(exchange.urls["api"], origin)
