"""The shape of ids the gateway issues (``bf_shared.messages.new_id``: uuid4 hex)."""

from __future__ import annotations

import re

# Anything else from a URL or a token cannot name a KV key, so a crafted id can never
# become a KV wildcard such as ``*`` or ``>``.
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def is_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id the gateway issued."""
    return bool(_ID_RE.match(value))
