"""Ownership of strategies by runners, as data: sessions, claims and the fair share.

A runner holds one **session** lease (``session.<runner_id>`` in KV ``bf_leases``), renewed
every few seconds; each strategy it owns has a **claim** (``claim.<strategy_id>``) naming
that session. A claim is valid only while its session is: a runner killed with -9 stops
renewing, its session expires after the TTL, and every one of its claims can be taken over
(compare-and-set on the claim's revision, so exactly one runner wins each). Renewing one
session instead of every claim keeps the bucket's write rate independent of how many
strategies a runner owns.

Who claims what: strategies are grouped by exchange, market and first pair, and each group
prefers one runner (rendezvous hashing), so a runner subscribes to the ticks of its own
symbols only and adding runners divides the tick traffic as well as the strategies. Each
runner owns at most its fair share (plus a little slack); above it, or when a preferred
runner with room exists, strategies are handed over.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
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
    started_at_ms: int = 0  # when this session was created (newcomers get work once settled)

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


def claim_valid(claim: Claim, sessions: dict[str, Session], now_ms: int, ttl_ms: int) -> bool:
    """A claim holds while the session it names is alive.

    A session not seen yet (a runner that just started: its claim can reach us before its
    session does) gets the benefit of the doubt for one TTL after the claim was made.
    """
    session = sessions.get(claim.runner_id)
    if session is None:
        return now_ms < claim.claimed_at_ms + ttl_ms
    return session.session_id == claim.session_id and session.alive(now_ms)


def fair_share(active: int, live_runners: int, cap: int = 0, slack: float = 0.1) -> int:
    """The most strategies one runner should own: an even split plus ``slack`` (a fraction,
    rounded down) so that symbol affinity has room; at most ``cap`` if set."""
    even = active / max(1, live_runners)
    share = math.ceil(even) + math.floor(even * slack)
    return min(share, cap) if cap > 0 else share


def affinity_key(exchange: str, market: str, pairs: Sequence[str]) -> str:
    """What strategies are grouped by: their exchange, market and first pair."""
    return f"{exchange}|{market}|{pairs[0] if pairs else ''}"


def _score(runner_id: str, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{runner_id}|{key}".encode(), digest_size=8).digest(), "big")


def ranking(key: str, runners: Iterable[str]) -> list[str]:
    """Runners in order of preference for ``key`` (rendezvous hashing: stable, and adding or
    removing a runner moves only the keys that runner wins or held)."""
    return sorted(runners, key=lambda r: _score(r, key), reverse=True)


def should_claim(me: str, key: str, live: Iterable[str], loads: Mapping[str, int], share: int) -> bool:
    """Whether ``me`` should take an unowned strategy: it is the most preferred live runner
    that still has room under ``share``.

    Strategies of one symbol thus gather on one runner, which then needs that symbol's ticks
    alone; the share keeps the spread even when a few symbols carry most strategies.
    """
    for runner in ranking(key, live):
        if loads.get(runner, 0) < share:
            return runner == me
    return False


def should_hand_over(me: str, key: str, live: Iterable[str], loads: Mapping[str, int], share: int) -> str | None:
    """The runner ``me`` should hand an owned strategy to: one it prefers over ``me`` that has
    room (``me`` counting without this strategy); None to keep it."""
    for runner in ranking(key, live):
        if runner == me:
            return None if loads.get(me, 0) - 1 < share else _next_with_room(me, key, live, loads, share)
        if loads.get(runner, 0) < share:
            return runner
    return None


def _next_with_room(me: str, key: str, live: Iterable[str], loads: Mapping[str, int], share: int) -> str | None:
    # ``me`` is over its share even without this strategy: give it to anyone with room.
    for runner in ranking(key, live):
        if runner != me and loads.get(runner, 0) < share:
            return runner
    return None
