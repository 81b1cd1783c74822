"""Periodic re-tests: when each connection is due, and which may run now.

Every Online connection is re-tested about every ``interval_s``. Its re-tests fall on its
own *slot*: instants ``k * interval_s + offset`` (since the Unix epoch), where ``offset`` is
a stable hash of the connection id within the interval. Slots spread connections evenly
across the interval whatever order they came Online in, and survive restarts without any
per-connection timer. After a pass at ``t`` the next re-test is the first slot later than
``t + interval_s / 2``: at most 1.5 intervals and on average one interval later, and a
connection tested on its slot is next tested exactly one interval later.

A connection whose automatic retries ran out during an outage (the exchange, or the
platform's way to it, stayed down) is not stranded: it stays in the index as an *outage*
entry and is re-tested on its slot of the shorter ``outage_interval_s`` until it passes
(then it is Online again) or fails for a reason the user must fix (then it leaves).

What is due still waits for its exchange's token bucket (:mod:`bf_tester.domain.budget`),
so a backlog (a scheduler that was down, many connections turned Online together) drains
at the budgeted rate instead of bursting the exchange's limit.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field

from bf_shared.messages import Frozen, TestRequested

from bf_tester.domain.budget import TokenBucket, max_connections_per_hour

__all__ = ["RetestEntry", "RetestKind", "max_connections_per_hour", "next_due_at", "plan_retests", "slot_offset_s"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_offset_s(connection_id: str, interval_s: float) -> float:
    """The connection's slot within the interval: a stable hash, uniform in ``[0, interval_s)``."""
    digest = hashlib.sha256(connection_id.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2.0**64
    return fraction * interval_s


def next_due_at(connection_id: str, interval_s: float, after: datetime) -> datetime:
    """The first slot of ``connection_id`` strictly later than ``after + interval_s / 2``."""
    offset = slot_offset_s(connection_id, interval_s)
    earliest = (after - _EPOCH).total_seconds() + interval_s / 2.0
    k = math.floor((earliest - offset) / interval_s) + 1
    return _EPOCH + timedelta(seconds=k * interval_s + offset)


RetestKind = Literal["online", "outage"]


class RetestEntry(Frozen):
    """A connection in the tester's re-test index (KV ``bf_tester``, key ``retest.<id>``).

    ``online``: it passed, re-tested every ``retest_interval_s``. ``outage``: its retries ran
    out on a retryable failure, re-tested every ``outage_retest_s`` until it recovers.
    """

    connection_id: str
    exchange: str
    kind: RetestKind = "online"
    # The last test command of the connection: what a re-test repeats (markets, attestation,
    # key reuse, secret version), with a fresh test id.
    template: TestRequested
    last_verdict_at: datetime
    next_due_at: datetime
    retests_published: int = Field(default=0, ge=0)


def plan_retests(
    entries: Iterable[RetestEntry],
    buckets: Mapping[str, TokenBucket],
    *,
    now: datetime,
    now_s: float,
) -> tuple[list[RetestEntry], dict[str, TokenBucket]]:
    """Which due entries run now, oldest due first, within each exchange's bucket (pure).

    Returns the entries to re-test and the buckets after spending. An exchange missing from
    ``buckets`` gets no re-tests (the caller creates its bucket first).
    """
    due = sorted((e for e in entries if e.next_due_at <= now), key=lambda e: (e.next_due_at, e.connection_id))
    out: dict[str, TokenBucket] = dict(buckets)
    chosen: list[RetestEntry] = []
    exhausted: set[str] = set()
    for entry in due:
        if entry.exchange in exhausted or entry.exchange not in out:
            continue
        taken, out[entry.exchange] = out[entry.exchange].take(now_s)
        if taken:
            chosen.append(entry)
        else:
            exhausted.add(entry.exchange)
    return chosen, out
