"""Deterministic client order ids: the same strategy step always yields the same id.

A runner that crashes after sending an order, and the runner that takes over from the
persisted state, compute the same id; the connector and the exchange de-duplicate on it,
so a retry or a failover never places an order twice.
"""

from __future__ import annotations

import hashlib

# MEXC accepts up to 32 characters, KuCoin 40; letters and digits are safe on both.
CLIENT_ID_LEN = 32
PREFIX = "bf"


def client_order_id(strategy_id: str, pair: str, cycle: int, seq: int, action: str) -> str:
    """``bf`` + 30 hex digits of sha256 over the step's identity."""
    material = f"{strategy_id}|{pair}|{cycle}|{seq}|{action}".encode()
    return PREFIX + hashlib.sha256(material).hexdigest()[: CLIENT_ID_LEN - len(PREFIX)]
