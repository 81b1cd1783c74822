"""The read model follows the tester's events, whatever their order, duplicates included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from bf_shared.codes import ErrorCode
from bf_shared.messages import Permissions, TestError, TestFailed, TestPassed, TestReason, TestResult, TestStarted

from bf_gateway.adapters.kv import RevisionConflict
from bf_gateway.adapters.memory import InMemoryKv
from bf_gateway.adapters.repositories import ConnectionStore
from bf_gateway.domain.connections import ConnectionView, awaiting_test, new_view
from bf_gateway.domain.projection import PENDING_TIMEOUT, on_test_finished, on_test_started
from bf_gateway.handlers.projector import ProjectorDeps, project

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
USER, CONN = "a" * 32, "c" * 32


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def view(test_id: str = "t1", requested: float = 0) -> ConnectionView:
    return new_view(
        connection_id=CONN, user_id=USER, exchange="mexc", name="Main", markets=("spot",), api_key_masked="mx0v…abcd",
        key_fingerprint="f" * 32, key_reused="none", secret_version=1, test_id=test_id, now=at(requested),
    )


def started(test_id: str, when: float, attempt: int = 1, reason: TestReason | None = None) -> TestStarted:
    return TestStarted(
        test_id=test_id, connection_id=CONN, user_id=USER, exchange="mexc", attempt=attempt, started_at=at(when), reason=reason
    )


def result(test_id: str, start: float, status: Literal["passed", "failed"] = "passed", attempt: int = 1) -> TestResult:
    error = None if status == "passed" else TestError(code=ErrorCode.EXCHANGE_UNAVAILABLE, cause="down", remedy="wait")
    return TestResult(
        test_id=test_id, status=status, started_at=at(start), finished_at=at(start + 3), checks=(),
        permissions=Permissions(read=True, trade=True, withdraw=False), ip_restricted=True, error=error, attempt=attempt,
    )


def finish(v: ConnectionView, r: TestResult, now: float = 100) -> ConnectionView | None:
    return on_test_finished(v, r, at(now))


def test_a_started_test_marks_testing_with_its_start_and_attempt() -> None:
    v = on_test_started(view("t1"), started("t1", 1, attempt=1), at(1))

    assert v is not None and v.status == "testing"
    assert v.pending_test is not None
    assert (v.pending_test.test_id, v.pending_test.started_at, v.pending_test.attempt) == ("t1", at(1), 1)
    assert v.pending_test.reason == TestReason.ADDED and v.pending_test.since == at(0)  # the request is remembered


@pytest.mark.parametrize(("status", "expected"), [("passed", "online"), ("failed", "failed")])
def test_the_result_of_the_awaited_test_settles_the_status(status: Literal["passed", "failed"], expected: str) -> None:
    v = finish(view("t1"), result("t1", 1, status))

    assert v is not None and v.status == expected and v.pending_test is None
    assert v.last_test is not None and v.last_test.test_id == "t1"


def test_a_duplicate_result_is_ignored() -> None:
    v = finish(view("t1"), result("t1", 1))
    assert v is not None

    assert finish(v, result("t1", 1)) is None


def test_an_older_result_never_replaces_a_newer_one() -> None:
    v = finish(view("t2", requested=10), result("t2", 11, "passed"))
    assert v is not None

    assert finish(v, result("t1", 1, "failed")) is None


def test_a_late_start_of_a_finished_test_does_not_flip_the_status_back() -> None:
    v = finish(view("t1"), result("t1", 1, "passed"))
    assert v is not None

    assert on_test_started(v, started("t1", 1), at(50)) is None
    assert on_test_started(v, started("t0", 0.5), at(50)) is None


def test_a_retry_attempt_of_a_failed_test_starts_again() -> None:
    failed = finish(view("t1"), result("t1", 1, "failed", attempt=1))
    assert failed is not None and failed.status == "failed"

    retrying = on_test_started(failed, started("t1", 60, attempt=2), at(60))

    assert retrying is not None and retrying.status == "testing"
    assert retrying.pending_test is not None and retrying.pending_test.attempt == 2
    passed = finish(retrying, result("t1", 60, "passed", attempt=2))
    assert passed is not None and passed.status == "online"


def test_a_result_before_the_start_event_still_settles_and_the_late_start_is_ignored() -> None:
    v = finish(view("t1"), result("t1", 1))
    assert v is not None and v.status == "online"

    assert on_test_started(v, started("t1", 1), at(5)) is None


def test_an_old_tests_result_keeps_waiting_for_the_newer_pending_test() -> None:
    # t1 was running when the user rotated the key (t2 requested at 30 s): t1's verdict is about the old key.
    running = on_test_started(view("t1"), started("t1", 1), at(1))
    assert running is not None
    rotated = awaiting_test(running, "t2", TestReason.ROTATED, at(30))

    v = finish(rotated, result("t1", 1, "passed"), now=31)

    assert v is not None and v.status == "testing"
    assert v.pending_test is not None and v.pending_test.test_id == "t2"
    assert v.last_test is not None and v.last_test.test_id == "t1"


def test_a_start_older_than_the_pending_request_does_not_replace_it() -> None:
    pending = view("t2", requested=30)

    assert on_test_started(pending, started("t1", 20), at(31)) is None


def test_a_pending_test_that_never_reports_stops_holding_the_status_back() -> None:
    pending = view("t2", requested=30)
    late = (30 + PENDING_TIMEOUT.total_seconds()) + 1

    v = finish(pending, result("t1", 20, "failed"), now=late)

    assert v is not None and v.status == "failed" and v.pending_test is None


def test_a_newer_test_started_by_the_tester_replaces_the_pending_one() -> None:
    v = on_test_started(view("t1"), started("periodic", 5), at(5))

    assert v is not None and v.pending_test is not None
    assert v.pending_test.test_id == "periodic" and v.pending_test.reason is None


def settled(status: Literal["passed", "failed"]) -> ConnectionView:
    """A connection whose first test (t1, started at 1 s) reported ``status``."""
    v = finish(view("t1"), result("t1", 1, status), now=10)
    assert v is not None and v.pending_test is None
    return v


def test_a_periodic_recheck_of_an_online_connection_keeps_it_online_and_records_the_test() -> None:
    v = on_test_started(settled("passed"), started("p1", 3600, reason=TestReason.PERIODIC), at(3600))

    assert v is not None and v.status == "online"
    assert v.pending_test is not None
    assert (v.pending_test.test_id, v.pending_test.reason, v.pending_test.started_at) == ("p1", TestReason.PERIODIC, at(3600))
    again = on_test_started(v, started("p1", 3600, reason=TestReason.PERIODIC), at(3601))  # redelivered start
    assert again is not None and again.status == "online"


@pytest.mark.parametrize(("status", "expected"), [("passed", "online"), ("failed", "failed")])
def test_the_result_of_a_periodic_recheck_settles_the_status(status: Literal["passed", "failed"], expected: str) -> None:
    running = on_test_started(settled("passed"), started("p1", 3600, reason=TestReason.PERIODIC), at(3600))
    assert running is not None and running.status == "online"

    v = finish(running, result("p1", 3600, status), now=3603)

    assert v is not None and v.status == expected and v.pending_test is None
    assert v.last_test is not None and v.last_test.test_id == "p1"


def test_a_periodic_test_of_a_failed_connection_still_shows_testing() -> None:
    v = on_test_started(settled("failed"), started("p1", 3600, reason=TestReason.PERIODIC), at(3600))

    assert v is not None and v.status == "testing"
    assert v.pending_test is not None and v.pending_test.reason == TestReason.PERIODIC


@pytest.mark.parametrize("reason", [TestReason.MANUAL, TestReason.RETRY, TestReason.ROTATED, None])
def test_any_other_start_on_an_online_connection_shows_testing(reason: TestReason | None) -> None:
    v = on_test_started(settled("passed"), started("t2", 3600, reason=reason), at(3600))

    assert v is not None and v.status == "testing"


def test_a_manual_test_requested_during_a_recheck_shows_testing_and_waits_for_its_own_result() -> None:
    running = on_test_started(settled("passed"), started("p1", 3600, reason=TestReason.PERIODIC), at(3600))
    assert running is not None
    asked = awaiting_test(running, "m1", TestReason.MANUAL, at(3601))
    assert asked.status == "testing"

    v = finish(asked, result("p1", 3600, "passed"), now=3603)  # the re-check ran on the same key, before the click

    assert v is not None and v.status == "testing"
    assert v.pending_test is not None and v.pending_test.test_id == "m1"


def test_a_pending_request_keeps_its_own_reason_when_its_start_arrives() -> None:
    asked = awaiting_test(settled("passed"), "m1", TestReason.MANUAL, at(3600))

    v = on_test_started(asked, started("m1", 3601, reason=TestReason.MANUAL), at(3601))

    assert v is not None and v.status == "testing"
    assert v.pending_test is not None and v.pending_test.reason == TestReason.MANUAL


def test_a_result_arriving_before_the_gateway_marks_its_request_is_not_reopened() -> None:
    done = finish(view("t0"), result("t1", 1))
    assert done is not None

    assert awaiting_test(done, "t1", TestReason.MANUAL, at(2)) is done


async def test_the_projector_applies_ignores_and_drops_events_of_deleted_connections() -> None:
    kv = InMemoryKv()
    store = ConnectionStore(kv)
    await store.create(view("t1"))
    deps = ProjectorDeps(views=store, clock=lambda: at(100))
    passed = TestPassed(connection_id=CONN, user_id=USER, exchange="mexc", result=result("t1", 1))

    assert await project(started("t1", 1), deps) == "applied"
    assert await project(passed, deps) == "applied"
    assert await project(passed, deps) == "ignored"
    assert await project(started("t1", 1), deps) == "ignored"
    stored = await store.get(USER, CONN)
    assert stored is not None and stored.status == "online"

    await store.delete(USER, CONN)
    failed = TestFailed(connection_id=CONN, user_id=USER, exchange="mexc", result=result("t9", 50, "failed"))
    assert await project(failed, deps) == "missing"
    assert not kv.data


class _RacingKv(InMemoryKv):
    """Loses the first ``races`` updates to a concurrent writer."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    async def update(self, key: str, value: bytes, revision: int) -> int:
        if self.races:
            self.races -= 1
            current = self.data[key]
            self._write(key, current.value)  # someone else wrote meanwhile
        return await super().update(key, value, revision)


async def test_the_projector_retries_a_lost_race_and_gives_up_after_repeated_conflicts() -> None:
    racing = _RacingKv(races=2)
    store = ConnectionStore(racing)
    await store.create(view("t1"))
    deps = ProjectorDeps(views=store, clock=lambda: at(100))

    assert await project(TestPassed(connection_id=CONN, user_id=USER, exchange="mexc", result=result("t1", 1)), deps) == "applied"

    racing.races = 100
    with pytest.raises(RevisionConflict):
        await project(TestFailed(connection_id=CONN, user_id=USER, exchange="mexc", result=result("t2", 50, "failed")), deps)
