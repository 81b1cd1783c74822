"""Request authentication, one module per exchange, each exactly as the exchange documents it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class RawRequest:
    """What a signature is computed over: the request exactly as it arrived."""

    method: str
    # The request target as sent (path and query, not re-encoded).
    target: str
    body: str
    headers: Mapping[str, str]
    remote_ip: str

    @property
    def path(self) -> str:
        """The target without its query."""
        return self.target.split("?", 1)[0]

    @property
    def raw_query(self) -> str:
        """The query string as sent, without the ``?``."""
        return self.target.split("?", 1)[1] if "?" in self.target else ""


def split_pairs(raw_query: str) -> list[tuple[str, str]]:
    """``a=1&b=2`` -> ``[("a=1", "a"), ...]``: each raw pair with its decoded name."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        if part:
            pairs.append((part, unquote_plus(part.split("=", 1)[0])))
    return pairs


def decoded_params(raw_query: str) -> dict[str, str]:
    """The query as a dict of decoded names and values (last one wins)."""
    out: dict[str, str] = {}
    for raw, name in split_pairs(raw_query):
        out[name] = unquote_plus(raw.split("=", 1)[1]) if "=" in raw else ""
    return out
