"""The tester's KV adapters on a real nats-server: compare-and-set, TTL markers, the lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from nats.aio.client import Client
from nats.js.kv import KeyValue

from bf_shared import subjects
from bf_shared.bus import kv_bucket
from bf_shared.messages import Permissions, TestReason, TestRequested, TestResult

from bf_tester.adapters.kv_lease import KvLease
from bf_tester.adapters.kv_state import KvRetestIndex, KvRetryScheduler, KvRunLedger, key
from bf_tester.domain.model import CurrentTest, PendingRetry, RunOutcome
from bf_tester.domain.schedule import RetestEntry
from bf_tester.settings import TesterSettings

from .harness import connect, reset_tester_state
from .test_tester_integration_flow import settings_for

T0_CMD = TestRequested(connection_id="c-kv", user_id="u", exchange="mexc", markets=("spot",), reason=TestReason.MANUAL)


class Clock:
    def __init__(self) -> None:
        self.t = T0_CMD.occurred_at

    def now(self):  # type: ignore[no-untyped-def]
        return self.t

    def monotonic(self) -> float:
        return 0.0


@pytest_asyncio.fixture
async def kv(nats_server: str) -> AsyncIterator[KeyValue]:
    client: Client = await connect(nats_server)
    settings: TesterSettings = settings_for(nats_server)
    await reset_tester_state(client, settings)
    try:
        yield await kv_bucket(client.jetstream(), subjects.KV_TESTER)
    finally:
        await client.close()


def passed_result(cmd: TestRequested, status: str = "passed") -> TestResult:
    at = cmd.occurred_at
    return TestResult(
        test_id=cmd.test_id, status=status, started_at=at, finished_at=at, checks=(),  # type: ignore[arg-type]
        permissions=Permissions(), ip_restricted=None, error=None,
    )


def retry_of(cmd: TestRequested, attempt: int) -> PendingRetry:
    retry = cmd.model_copy(update={"attempt": attempt, "reason": TestReason.RETRY})
    return PendingRetry(command=retry, due_at=cmd.occurred_at)


async def test_retry_scheduler_replaces_and_cancels_only_its_own_retry(kv: KeyValue) -> None:
    store = KvRetryScheduler(kv)
    second, third = retry_of(T0_CMD, 2), retry_of(T0_CMD, 3)
    assert await store.schedule(second)
    assert not await store.schedule(third, replacing="another-run")
    assert await store.schedule(third, replacing=second.run_id)
    await store.cancel("c-kv", only=second.run_id)  # stale: the third attempt stays
    pending = await store.pending("c-kv")
    assert pending is not None and pending.command.attempt == 3

    due = await store.due(T0_CMD.occurred_at, republish_after_s=60)
    assert [r.run_id for r in due] == [third.run_id]
    await store.mark_published(due[0], T0_CMD.occurred_at)
    assert await store.due(T0_CMD.occurred_at, republish_after_s=60) == []
    assert len(await store.due(T0_CMD.occurred_at + timedelta(seconds=61), republish_after_s=60)) == 1

    await store.cancel("c-kv")
    assert await store.pending("c-kv") is None
    assert await store.due(T0_CMD.occurred_at, republish_after_s=60) == []


async def test_ledger_claims_in_stream_order_and_markers_expire(kv: KeyValue) -> None:
    ledger = KvRunLedger(kv, marker_ttl_s=1.0)  # markers are keyed by run id; any string will do
    newer = T0_CMD.model_copy(update={"test_id": "newer"})
    older = T0_CMD.model_copy(update={"test_id": "older"})
    assert await ledger.claim(CurrentTest(command=newer, sequence=20))
    assert not await ledger.claim(CurrentTest(command=older, sequence=10))
    assert await ledger.claim(CurrentTest(command=newer, sequence=20))  # a redelivery of itself
    current = await ledger.current("c-kv")
    assert current is not None and current.command.test_id == "newer"

    await ledger.mark_done("newer")
    await ledger.mark_done("newer")  # idempotent
    await ledger.mark_deleted("c-kv")
    assert await ledger.is_done("newer") and await ledger.is_deleted("c-kv")
    await ledger.forget("c-kv")
    assert await ledger.current("c-kv") is None
    assert await ledger.claim(CurrentTest(command=older, sequence=10))  # after forgetting, anyone may claim

    first = RunOutcome(result=passed_result(T0_CMD))
    await ledger.save_outcome("run-1", first)
    await ledger.save_outcome("run-1", RunOutcome(result=passed_result(T0_CMD, status="failed")))
    assert await ledger.outcome("run-1") == first  # the first decision stands

    await asyncio.sleep(1.6)  # per-key TTL: markers do not pile up forever
    assert not await ledger.is_done("newer") and not await ledger.is_deleted("c-kv")
    assert await ledger.outcome("run-1") is None


async def test_online_index_round_trip_and_odd_ids(kv: KeyValue) -> None:
    index = KvRetestIndex(kv)
    odd = "user/42 conn.*>"
    for cid in ("plain-id", odd):
        cmd = T0_CMD.model_copy(update={"connection_id": cid})
        await index.put(RetestEntry(connection_id=cid, exchange="mexc", template=cmd, last_verdict_at=cmd.occurred_at, next_due_at=cmd.occurred_at))
    assert key("retest", odd).startswith("retest.h") and "." not in key("retest", odd)[7:]
    assert sorted(e.connection_id for e in await index.all()) == sorted(["plain-id", odd])
    await index.remove(odd)
    assert await index.get(odd) is None and await index.get("plain-id") is not None


async def test_lease_is_exclusive_refreshed_released_and_taken_over_after_expiry(kv: KeyValue) -> None:
    clock = Clock()
    a = KvLease(kv, holder="a", ttl_s=10, clock=clock)  # type: ignore[arg-type]
    b = KvLease(kv, holder="b", ttl_s=10, clock=clock)  # type: ignore[arg-type]
    assert await a.acquire()
    assert not await b.acquire()
    clock.t += timedelta(seconds=8)
    assert await a.acquire()  # refreshed: valid until t+18
    clock.t += timedelta(seconds=9)
    assert not await b.acquire()
    clock.t += timedelta(seconds=11)  # a crashed: its lease ran out
    assert await b.acquire()
    assert not await a.acquire()
    await b.release()
    assert await a.acquire()
    # Two contenders at once: exactly one wins the compare-and-set.
    await a.release()
    results = await asyncio.gather(*(KvLease(kv, holder=f"r{i}", ttl_s=10, clock=clock).acquire() for i in range(5)))  # type: ignore[arg-type]
    assert results.count(True) == 1
