"""The tester's own state, as values (stored as JSON in KV ``bf_tester``).

A test keeps its ``test_id`` across automatic retries; each retry is the next ``attempt``.
One *run* is one attempt of one test: :func:`run_id` names it.

| key | value | purpose |
|---|---|---|
| ``retry.<connection_id>`` | :class:`PendingRetry` | the one retry due for a connection (survives restarts) |
| ``current.<connection_id>`` | :class:`CurrentTest` | the newest test of a connection; older ones are superseded |
| ``retest.<connection_id>`` | :class:`~bf_tester.domain.schedule.RetestEntry` | the periodic re-test index |
| ``outcome.<test_id>-<attempt>`` | :class:`RunOutcome`, with a TTL | a run's decided verdict and retry, saved before either is published |
| ``done.<test_id>-<attempt>`` | empty, with a TTL | attempts fully handled (idempotent redelivery) |
| ``deleted.<connection_id>`` | empty, with a TTL | connections deleted: never test or retry them again |
| ``lease.scheduler`` | :class:`Lease` | which replica runs the scheduler loop |
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from bf_shared.messages import Frozen, TestReason, TestRequested, TestResult


def derived_id(*parts: str) -> str:
    """A deterministic id from ``parts`` (a re-run of the same step derives the same id)."""
    return hashlib.sha256(".".join(parts).encode()).hexdigest()[:32]


def run_id(cmd: TestRequested) -> str:
    """The name of one attempt of one test (``<test_id>-<attempt>``)."""
    return f"{cmd.test_id}-{cmd.attempt}"


def message_id(cmd: TestRequested, what: str) -> str:
    """A message id derived from the run: a redelivered handling publishes the same ids."""
    return f"{cmd.test_id}.{cmd.attempt}.{what}"


class PendingRetry(Frozen):
    """A retry command to publish at ``due_at`` (``published_at``: when it last was)."""

    command: TestRequested
    due_at: datetime
    published_at: datetime | None = None

    @property
    def connection_id(self) -> str:
        """The connection the retry is for."""
        return self.command.connection_id

    @property
    def run_id(self) -> str:
        """The run the retry starts."""
        return run_id(self.command)

    def is_due(self, now: datetime, republish_after_s: float) -> bool:
        """Due and not yet published, or published so long ago that it must have been lost."""
        if self.due_at > now:
            return False
        if self.published_at is None:
            return True
        return now - self.published_at >= timedelta(seconds=republish_after_s)


class RunOutcome(Frozen):
    """What a run decided, saved before it is acted on (an outbox).

    A command redelivered after a crash finishes exactly this outcome (same verdict, same
    retry) instead of probing again and possibly deciding otherwise than what the rest of
    the system may already have seen.
    """

    result: TestResult
    retry: PendingRetry | None = None


class CurrentTest(Frozen):
    """The newest run of a connection. ``sequence`` orders commands (stream sequence)."""

    command: TestRequested
    sequence: int | None = None

    @property
    def run_id(self) -> str:
        """The run that holds the connection."""
        return run_id(self.command)

    def is_newer_than_me(self, sequence: int | None) -> bool:
        """True when this record was claimed by a command that came after ``sequence``."""
        if self.sequence is None or sequence is None:
            return False
        return self.sequence > sequence


class Lease(Frozen):
    """Who holds the scheduler lease, and until when."""

    holder: str
    expires_at: datetime

    def held_by_other(self, me: str, now: datetime) -> bool:
        """True while another holder's lease is still valid."""
        return self.holder != me and self.expires_at > now


def retry_command(failed: TestRequested, *, occurred_at: datetime) -> TestRequested:
    """The next attempt of the same test: same test id and context, ``reason=retry``."""
    nxt = failed.model_copy(
        update={"occurred_at": occurred_at, "reason": TestReason.RETRY, "attempt": failed.attempt + 1}
    )
    return nxt.model_copy(update={"message_id": message_id(nxt, "requested")})


def retest_command(template: TestRequested, *, test_id: str, occurred_at: datetime) -> TestRequested:
    """A periodic re-test: the connection's last command, fresh id, ``reason=periodic``."""
    fresh = template.model_copy(
        update={"test_id": test_id, "occurred_at": occurred_at, "reason": TestReason.PERIODIC, "attempt": 1}
    )
    return fresh.model_copy(update={"message_id": message_id(fresh, "requested")})
