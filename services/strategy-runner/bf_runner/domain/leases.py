"""Ownership of strategies by runners, as data: sessions, claims and the fair share.

A runner holds one **session** lease (``session.<runner_id>`` in KV ``bf_leases``), renewed
every few seconds; each strategy it owns has a **claim** (``claim.<strategy_id>``) naming
that session. A claim is valid only while its session is: a runner killed with -9 stops
renewing, its session expires after the TTL, and every one of its claims can be taken over
(compare-and-set on the claim's revision, so exactly one runner wins each). Renewing one
session instead of every claim keeps the bucket's write rate independent of how many
strategies a runner owns.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Session(_Model):
    """A runner's liveness lease."""

    schema_version: Literal[1] = 1
    runner_id: str
    session_id: str  # changes each time the runner (re)creates its session
    expires_at_ms: int

    def alive(self, now_ms: int) -> bool:
        """Whether the session has been renewed recently enough."""
        return now_ms < self.expires_at_ms


class Claim(_Model):
    """A strategy's owner."""

    schema_version: Literal[1] = 1
    runner_id: str
    session_id: str
    claimed_at_ms: int


def session_key(runner_id: str) -> str:
    """KV key of a runner's session."""
    return f"session.{runner_id}"


def claim_key(strategy_id: str) -> str:
    """KV key of a strategy's claim."""
    return f"claim.{strategy_id}"


def claim_valid(claim: Claim, sessions: dict[str, Session], now_ms: int) -> bool:
    """A claim holds while the session it names is alive."""
    session = sessions.get(claim.runner_id)
    return session is not None and session.session_id == claim.session_id and session.alive(now_ms)


def fair_share(active: int, live_runners: int, cap: int = 0) -> int:
    """How many strategies one runner should own: an even split, at most ``cap`` if set."""
    share = math.ceil(active / max(1, live_runners))
    return min(share, cap) if cap > 0 else share
