"""Runners pause a connection's strategies when its key is rotated, until the new key passes a test;
and treat the connector's ``connection_not_verified`` refusal like an offline connection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bf_shared import subjects
from bf_shared.messages import (
    ConnectionCredentialsRotated,
    ConnectionDeleted,
    Permissions,
    TestFailed,
    TestPassed,
    TestResult,
)
from bf_shared.strategy_messages import OrderError, OrderReply

from bf_runner.domain.connections import ConnectionRecord, ConnectionState, on_result, on_rotated
from bf_runner.domain.model import Status
from bf_runner.handlers import handle_connection_deleted, handle_credentials_rotated, handle_test_result
from bf_runner.owner import ConnectionChanged
from bf_runner.ports import StaleRevision

from .test_strategy_owner import PAIR, World, run_until, stop

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def result(status: str, started_s: float, attempt: int = 1) -> TestResult:
    at = T0 + timedelta(seconds=started_s)
    return TestResult(test_id=f"t{started_s}", status=status, started_at=at, finished_at=at,  # type: ignore[arg-type]
                      checks=(), permissions=Permissions(), ip_restricted=None, error=None, attempt=attempt)


def passed(started_s: float, version: int | None) -> TestPassed:
    return TestPassed(connection_id="c1", user_id="u1", exchange="mexc", result=result("passed", started_s),
                      secret_version=version)


def failed(started_s: float, version: int | None) -> TestFailed:
    return TestFailed(connection_id="c1", user_id="u1", exchange="mexc", result=result("failed", started_s),
                      secret_version=version)


def rotated(version: int) -> ConnectionCredentialsRotated:
    return ConnectionCredentialsRotated(connection_id="c1", user_id="u1", exchange="mexc", api_key_masked="mx0v…3f2a",
                                        secret_version=version)


class FakeRecords:
    """The ``conn.<id>`` records with compare-and-set; ``race`` makes the next save lose once."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[ConnectionRecord, int]] = {}
        self.revision = 0
        self.race = False

    async def connection_record(self, connection_id: str) -> tuple[ConnectionRecord, int] | None:
        return self.records.get(connection_id)

    async def save_connection(self, record: ConnectionRecord, revision: int | None) -> int:
        held = self.records.get(record.connection_id)
        if self.race or (held[1] if held else None) != revision:
            self.race = False
            raise StaleRevision(record.connection_id)
        self.revision += 1
        self.records[record.connection_id] = (record, self.revision)
        return self.revision

    def state(self) -> ConnectionState | None:
        held = self.records.get("c1")
        return held[0].state if held else None

    def changed(self) -> ConnectionChanged:
        """What the supervisor's KV watch hands the owners after a record was written."""
        state = self.state()
        assert state is not None
        return ConnectionChanged(state)


# ----------------------------------------------------------------------------- the record


def test_a_rotation_takes_an_online_connection_offline_and_remembers_the_new_key() -> None:
    online = on_result(None, "c1", result("passed", 0), 1)
    assert online is not None and (online.state, online.secret_version) == ("online", 1)
    after = on_rotated(online, "c1", 2)
    assert after is not None and (after.state, after.secret_version) == ("offline", 2)
    assert after.test_started_at == online.test_started_at  # the test order is kept


def test_only_a_pass_of_the_new_key_brings_it_back() -> None:
    record = on_rotated(on_result(None, "c1", result("passed", 0), 1), "c1", 2)
    assert on_result(record, "c1", result("passed", 5), 1) is None  # the old key, tested late
    assert on_result(record, "c1", result("passed", 5), None) is None  # which key? not enough
    back = on_result(record, "c1", result("passed", 10), 2)
    assert back is not None and (back.state, back.secret_version) == ("online", 2)


def test_a_failure_without_a_key_version_still_takes_it_offline() -> None:
    record = on_result(None, "c1", result("passed", 0), 2)
    down = on_result(record, "c1", result("failed", 5), None)
    assert down is not None and down.state == "offline" and down.secret_version == 2


def test_a_repeated_or_late_rotation_changes_nothing() -> None:
    record = on_rotated(None, "c1", 2)
    assert record is not None and record.state == "offline"
    assert on_rotated(record, "c1", 2) is None
    online = on_result(record, "c1", result("passed", 10), 3)  # version 3 passed before its rotation arrived
    assert on_rotated(online, "c1", 3) is None and on_rotated(online, "c1", 2) is None


def test_a_deleted_connection_stays_deleted() -> None:
    deleted = ConnectionRecord(connection_id="c1", state="deleted")
    assert on_rotated(deleted, "c1", 5) is None


# ----------------------------------------------------------------------------- handlers


async def test_handlers_follow_a_rotation_through_to_the_new_keys_pass() -> None:
    store = FakeRecords()
    await handle_test_result(passed(0, 1), store=store)
    assert store.state() == "online"
    await handle_credentials_rotated(rotated(2), store=store)
    assert store.state() == "offline"
    await handle_test_result(passed(5, 1), store=store)  # a test of the old key that finished late
    assert store.state() == "offline"
    await handle_test_result(failed(10, 2), store=store)  # the new key can withdraw
    assert store.state() == "offline"
    await handle_test_result(passed(20, 2), store=store)  # fixed on the exchange, re-tested
    assert store.state() == "online"


async def test_a_rotation_racing_another_writer_is_decided_again() -> None:
    store = FakeRecords()
    await handle_test_result(passed(0, 1), store=store)
    store.race = True
    await handle_credentials_rotated(rotated(2), store=store)
    record, _ = store.records["c1"]
    assert (record.state, record.secret_version) == ("offline", 2)


async def test_a_rotation_after_a_deletion_is_ignored() -> None:
    store = FakeRecords()
    await handle_connection_deleted(ConnectionDeleted(connection_id="c1", user_id="u1", exchange="mexc"), store=store)
    await handle_credentials_rotated(rotated(2), store=store)
    assert store.state() == "deleted"


# ----------------------------------------------------------------------------- owners


async def _until(check: Any) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_a_rotated_connection_pauses_its_strategy_until_the_new_key_passes() -> None:
    w = World()
    records = FakeRecords()
    await handle_test_result(passed(0, 1), store=records)
    owner = w.owner()
    task = await run_until(owner, records.state(), owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    await _until(lambda: len(w.connector.requests) >= 3)  # base, exit, add

    await handle_credentials_rotated(rotated(2), store=records)
    owner.notify(records.changed())
    await _until(lambda: owner.state is not None and owner.state.status is Status.PAUSED)
    assert owner.state is not None and owner.state.paused_by == ("connection_offline",)
    sent = len(w.connector.requests)
    owner.offer_tick(PAIR, Decimal(97))  # the add would fill and the exit be re-priced, if it traded
    await asyncio.sleep(0.05)
    assert len(w.connector.requests) == sent

    await handle_test_result(passed(10, 2), store=records)
    owner.notify(records.changed())
    await _until(lambda: owner.state is not None and owner.state.status is Status.RUNNING)
    await stop(owner, task)
    assert [s for s, _ in w.events.published] == [subjects.STRATEGY_PAUSED, subjects.STRATEGY_RESUMED]


async def test_the_connectors_refusal_pauses_like_an_offline_connection_and_a_pass_resumes() -> None:
    w = World()
    refused = OrderReply(request_id="x", ok=False,
                         error=OrderError(code="connection_not_verified", detail="the last test failed"))
    w.connector.script = [refused]
    owner = w.owner()
    task = await run_until(owner, "online", owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    await _until(lambda: owner.state is not None and owner.state.status is Status.PAUSED)
    assert owner.state is not None and owner.state.paused_by == ("connection_offline",)
    assert len(w.connector.requests) == 1  # not retried: only a passed test helps
    paused = w.events.published[0][1]
    assert getattr(paused, "reason", None) == "connection_offline"

    owner.notify(ConnectionChanged("online"))
    await _until(lambda: len(w.connector.requests) >= 2)
    await stop(owner, task)
    assert w.connector.requests[1].client_order_id == w.connector.requests[0].client_order_id
    assert [s for s, _ in w.events.published] == [subjects.STRATEGY_PAUSED, subjects.STRATEGY_RESUMED]
