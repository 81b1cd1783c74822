"""How the tester's events move a connection view: pure functions, ``None`` = ignore.

Events can arrive late, twice, or out of order (redelivery after a crash, several tester
replicas, a manual test racing a periodic one). The rules, in order of the tester's own
timestamps:

* a result is applied only if it is newer than ``last_test`` (a later start, or a later
  attempt of the same test); a duplicate or an older result changes nothing;
* a ``TestStarted`` is applied only if the test started after ``last_test`` did and is not a
  test whose result is already known; it never replaces a pending test that is newer;
* a result settles the status (``online``/``failed``) unless the connection still waits for a
  newer test (requested after that result's test started, e.g. after a key rotation): then
  the result is recorded as ``last_test`` and the status stays ``testing``. A pending test
  that has not reported for ``PENDING_TIMEOUT`` no longer holds the status back;
* a periodic re-check (``TestStarted.reason == periodic``) of a connection that is ``online``
  keeps it ``online`` while it runs: the tester re-tests Online connections every few hours
  and a trader must not see Online -> Testing -> Online each time. The test is still recorded
  as ``pending_test`` (reason ``periodic``), and its result settles the status as any other
  (a failure turns the connection ``failed`` at once). Every other start (a user's test, a
  retry of a failed connection, a periodic test of a connection that is not online, or an
  event from a tester that does not say why) shows ``testing`` as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bf_shared.messages import TestReason, TestResult, TestStarted

from bf_gateway.domain.connections import ConnectionView, PendingTest

PENDING_TIMEOUT = timedelta(minutes=10)


def _known_result(view: ConnectionView, test_id: str, attempt: int) -> bool:
    last = view.last_test
    return last is not None and last.test_id == test_id and attempt <= last.attempt


def on_test_started(view: ConnectionView, event: TestStarted, now: datetime) -> ConnectionView | None:
    """The view once ``event``'s test is running, or ``None`` when the event is stale."""
    last = view.last_test
    if _known_result(view, event.test_id, event.attempt):
        return None
    if last is not None and event.started_at <= last.started_at:
        return None
    pending = view.pending_test
    if pending is not None and pending.test_id == event.test_id:
        if pending.started_at is not None and event.attempt < pending.attempt:
            return None  # an earlier attempt of the test that is running now
        running = pending.model_copy(
            update={"started_at": event.started_at, "attempt": event.attempt, "reason": pending.reason or event.reason}
        )
    elif pending is not None and event.started_at < pending.since:
        return None  # a newer test is already pending; this one cannot settle anything
    else:
        running = PendingTest(
            test_id=event.test_id,
            reason=event.reason,
            since=event.started_at,
            started_at=event.started_at,
            attempt=event.attempt,
        )
    status = view.status if _background_recheck(view, event) else "testing"
    return view.model_copy(update={"status": status, "pending_test": running, "updated_at": now})


def _background_recheck(view: ConnectionView, event: TestStarted) -> bool:
    """Whether ``event`` is a periodic re-test of a connection that works: no one waits for it."""
    return event.reason == TestReason.PERIODIC and view.status == "online"


def on_test_finished(view: ConnectionView, result: TestResult, now: datetime) -> ConnectionView | None:
    """The view with ``result`` recorded, or ``None`` when the result is stale or a duplicate."""
    last = view.last_test
    if _known_result(view, result.test_id, result.attempt):
        return None
    if last is not None and result.started_at < last.started_at:
        return None
    pending = view.pending_test
    if pending is not None and _still_waiting(pending, result, now):
        return view.model_copy(update={"last_test": result, "updated_at": now})
    status = "online" if result.status == "passed" else "failed"
    return view.model_copy(
        update={"last_test": result, "status": status, "pending_test": None, "updated_at": now}
    )


def _still_waiting(pending: PendingTest, result: TestResult, now: datetime) -> bool:
    """Whether ``pending`` is a newer test than ``result`` and may still report."""
    if now - (pending.started_at or pending.since) > PENDING_TIMEOUT:
        return False  # it never reported: do not hold the status back forever
    if pending.test_id == result.test_id:
        return pending.attempt > result.attempt  # a later attempt of this test is running
    return result.started_at < pending.since
