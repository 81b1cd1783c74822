"""The scheduler loop: publishes due retries and periodic re-tests, on one replica at a time.

Every replica runs :func:`run_scheduler`; only the holder of the KV lease does the work,
so a crashed leader is replaced once its lease expires (``lease_ttl_s``). Work per tick:

* retries whose time has come (stored in KV by the test handler) are published as
  ``TestRequested`` commands; a retry published long ago and still pending is published
  again (it was lost), the handler drops duplicates;
* indexed connections (Online ones, and ones an outage left failed) whose slot has come are
  re-tested within their exchange's budget (:mod:`bf_tester.domain.schedule`). The leader
  keeps the re-test index in memory, re-reading it every ``index_refresh_s``: a freshly
  indexed connection is not due for half an interval anyway, and each entry is re-read
  before its re-test is published. When it takes the lease, the leader also brings forward
  the re-test of every Online connection that has no verdict recorded (indexed before
  verdicts were recorded): the connector refuses its orders until one is.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from bf_shared import subjects

from bf_tester.domain.budget import TokenBucket
from bf_tester.domain.model import derived_id, retest_command
from bf_tester.domain.schedule import RetestEntry, next_due_at, plan_retests
from bf_tester.ports import (
    Clock,
    PublishPort,
    RetestIndex,
    RetryScheduler,
    SchedulerLease,
    TesterMetrics,
    VerdictStore,
)
from bf_tester.settings import TesterSettings

log = logging.getLogger(__name__)


async def publish_due_retries(
    *, scheduler: RetryScheduler, publish: PublishPort, clock: Clock, settings: TesterSettings
) -> int:
    """Publish every due retry; returns how many were published."""
    now = clock.now()
    count = 0
    for retry in await scheduler.due(now, settings.republish_after_s):
        await publish.publish(subjects.TEST_REQUESTED, retry.command)
        await scheduler.mark_published(retry, now)
        count += 1
    return count


class Retester:
    """The leader's periodic re-test planner: an in-memory index mirror and token buckets."""

    def __init__(self, *, index: RetestIndex, publish: PublishPort, clock: Clock,
                 settings: TesterSettings, metrics: TesterMetrics, verdicts: VerdictStore | None = None) -> None:
        self._index = index
        self._verdicts = verdicts
        self._publish = publish
        self._clock = clock
        self._settings = settings
        self._metrics = metrics
        self._mirror: dict[str, RetestEntry] = {}
        self._loaded_at: float | None = None
        self._buckets: dict[str, TokenBucket] = {}

    def invalidate(self) -> None:
        """Re-read the index on the next tick (e.g. after leadership changed hands)."""
        self._loaded_at = None

    async def _refresh(self, now_s: float) -> None:
        if self._loaded_at is None or now_s - self._loaded_at >= self._settings.index_refresh_s:
            first = self._loaded_at is None
            self._mirror = {e.connection_id: e for e in await self._index.all()}
            if first:
                await self._unverified_due_now()
            self._loaded_at = now_s

    async def _unverified_due_now(self) -> None:
        """Online connections without a recorded verdict are due now (their slots wait otherwise).

        Once per leadership, so a bucket read per indexed connection is paid rarely; the
        re-tests still go out within the exchange's budget.
        """
        if self._verdicts is None:
            return
        now = self._clock.now()
        for entry in list(self._mirror.values()):
            if entry.kind != "online" or entry.next_due_at <= now:
                continue
            stored, _ = await self._verdicts.read(entry.connection_id)
            fresh = await self._index.get(entry.connection_id)
            if stored is not None or fresh is None:
                continue
            due = fresh.model_copy(update={"next_due_at": now})
            await self._index.put(due)
            self._mirror[due.connection_id] = due
            log.info("connection %s has no verdict recorded: re-tested first", due.connection_id)

    async def tick(self) -> int:
        """Publish the re-tests that are due and within budget; returns how many."""
        now, now_s = self._clock.now(), self._clock.monotonic()
        await self._refresh(now_s)
        for exchange in {e.exchange for e in self._mirror.values()} - set(self._buckets):
            self._buckets[exchange] = TokenBucket.for_exchange(
                exchange, self._settings.retest_budget_fraction, now_s, self._settings.scheduler_tick_s
            )
        chosen, self._buckets = plan_retests(self._mirror.values(), self._buckets, now=now, now_s=now_s)
        due = Counter(e.exchange for e in self._mirror.values() if e.next_due_at <= now)
        due.subtract(Counter(e.exchange for e in chosen))
        for exchange, waiting in due.items():
            if waiting > 0:
                self._metrics.retest_deferred(exchange, waiting)
        published = 0
        for entry in chosen:
            published += await self._retest(entry)
        return published

    async def _retest(self, planned: RetestEntry) -> int:
        now = self._clock.now()
        fresh = await self._index.get(planned.connection_id)
        if fresh is None or fresh.next_due_at > now:  # deleted, failed or re-tested meanwhile
            self._mirror.pop(planned.connection_id, None)
            if fresh is not None:
                self._mirror[fresh.connection_id] = fresh
            return 0
        test_id = derived_id(fresh.connection_id, "periodic", fresh.next_due_at.isoformat())
        command = retest_command(fresh.template, test_id=test_id, occurred_at=now)
        # Move the slot on first: a crash after publishing must not re-test twice.
        moved = fresh.model_copy(
            update={
                "next_due_at": next_due_at(
                    fresh.connection_id, self._settings.retest_interval_for(fresh.kind), now
                ),
                "retests_published": fresh.retests_published + 1,
            }
        )
        await self._index.put(moved)
        self._mirror[moved.connection_id] = moved
        try:
            await self._publish.publish(subjects.TEST_REQUESTED, command)
        except Exception:
            await self._index.put(fresh)  # try again next tick
            self._mirror[fresh.connection_id] = fresh
            raise
        self._metrics.retest_published(fresh.exchange)
        return 1


async def run_scheduler(
    *,
    lease: SchedulerLease,
    scheduler: RetryScheduler,
    retester: Retester,
    publish: PublishPort,
    clock: Clock,
    settings: TesterSettings,
    stop: asyncio.Event,
) -> None:
    """Tick until ``stop`` is set; work only while holding the lease, release it on exit."""
    leading = False
    try:
        while not stop.is_set():
            try:
                now_leading = await lease.acquire()
                if now_leading and not leading:
                    log.info("scheduler lease acquired")
                    retester.invalidate()
                elif leading and not now_leading:
                    log.warning("scheduler lease lost")
                leading = now_leading
                if leading:
                    await publish_due_retries(scheduler=scheduler, publish=publish, clock=clock, settings=settings)
                    await retester.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the bus may be reconnecting: keep ticking
                log.exception("scheduler tick failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_tick_s)
            except TimeoutError:
                pass
    finally:
        if leading:
            try:
                await lease.release()
            except Exception:
                log.warning("could not release the scheduler lease; it expires by itself")
