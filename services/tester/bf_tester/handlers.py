"""The tester's use cases: plain async functions, every dependency a parameter.

Running a test (:func:`handle_test_requested`):

1. skip a run already handled (idempotent on ``test_id`` and ``attempt``), one for a deleted
   connection, a retry that a newer test superseded, or a command older than the
   connection's newest;
2. publish ``TestStarted``; ask the connector for facts with a timeout (no answer is
   platform trouble: judged like ``exchange_unavailable``, so it is retried, never blamed
   on the key), relaying each probe outcome reported meanwhile as a provisional check on the
   connection's live feed (:mod:`bf_tester.progress`); judge with the pure policy;
3. unless a newer test of the connection started meanwhile (only the newest test speaks for
   a connection), save the decided outcome (verdict and, for a retryable failure, the next
   attempt and its time in ``next_retry_at``) before acting on it. A retry keeps the
   ``test_id`` (the one the user got back from ``POST /connections/{id}/test``) with
   ``attempt + 1``;
4. store the retry (KV, survives restarts), record the connection's verdict (KV
   ``bf_verdicts``, which the connector checks before every order: only the connection's
   newest test writes it, and a run that cannot record it does not announce it either), put
   the verdict's checks on the live feed, publish ``TestPassed``/``TestFailed``;
5. remember the run as done. A crash before the outcome was saved redelivers the command and
   the run starts again; a crash after it finishes the saved outcome, so the verdict
   everyone may have seen and the bookkeeping never disagree. Message ids derive from test
   id and attempt, so JetStream drops re-published duplicates.

The re-test index is kept from the tester's own events (:func:`handle_test_passed`,
:func:`handle_test_failed`) and ``ConnectionDeleted``: Online connections are re-tested
periodically, and so are connections an outage left failed once their retries ran out. A
deletion also deletes the connection's verdict.
"""

from __future__ import annotations

import logging

from bf_shared import subjects
from bf_shared.codes import ErrorCode, should_retry
from bf_shared.messages import (
    ConnectionDeleted,
    ConnectionVerdict,
    ProbeError,
    ProbeReply,
    ProbeRequest,
    TestFailed,
    TestPassed,
    TestReason,
    TestRequested,
    TestResult,
    TestStarted,
)

from bf_tester.domain.facts import CONNECTOR_UNREACHABLE
from bf_tester.domain.model import CurrentTest, PendingRetry, RunOutcome, message_id, retry_command, run_id
from bf_tester.domain.retry import RandomSource, retry_after_s
from bf_tester.domain.schedule import RetestEntry, RetestKind, next_due_at
from bf_tester.domain.verdict import judge
from bf_tester.ports import (
    Clock,
    ProbePort,
    ProbeUnavailable,
    ProgressPort,
    PublishPort,
    RetestIndex,
    RetryScheduler,
    RunLedger,
    TesterMetrics,
    VerdictStore,
)
from bf_tester.progress import ProgressRelay, publish_final_checks
from bf_tester.settings import TesterSettings

log = logging.getLogger(__name__)

_VERDICT_CAS_TRIES = 5


class VerdictNotRecorded(Exception):
    """The verdict could not be stored: the run is not announced (the command is redelivered)."""


async def _skip_reason(
    cmd: TestRequested, sequence: int | None, *, scheduler: RetryScheduler, ledger: RunLedger
) -> str | None:
    if await ledger.is_done(run_id(cmd)):
        return "already handled"
    if await ledger.is_deleted(cmd.connection_id):
        return "connection deleted"
    if cmd.reason == TestReason.RETRY:
        pending = await scheduler.pending(cmd.connection_id)
        if pending is None or pending.run_id != run_id(cmd):
            return "retry superseded by a newer test"
    if not await ledger.claim(CurrentTest(command=cmd, sequence=sequence)):
        return "a newer test of the connection exists"
    return None


async def _ask(cmd: TestRequested, probe: ProbePort, timeout_s: float) -> ProbeReply:
    request = ProbeRequest(
        test_id=cmd.test_id,
        connection_id=cmd.connection_id,
        exchange=cmd.exchange,
        markets=cmd.markets,
        secret_version=cmd.secret_version,
    )
    try:
        reply = await probe.probe(request, timeout_s)
        if reply.test_id == cmd.test_id and reply.connection_id == cmd.connection_id:
            return reply
        log.warning("probe reply for another test (%s), ignored", reply.test_id)
    except ProbeUnavailable as e:
        log.warning("connector for %s did not answer test %s: %s", cmd.exchange, cmd.test_id, e)
    return ProbeReply(
        test_id=cmd.test_id,
        connection_id=cmd.connection_id,
        exchange=cmd.exchange,
        error=ProbeError(code=ErrorCode.EXCHANGE_UNAVAILABLE, detail=CONNECTOR_UNREACHABLE),
    )


async def handle_test_requested(
    cmd: TestRequested,
    *,
    probe: ProbePort,
    publish: PublishPort,
    scheduler: RetryScheduler,
    ledger: RunLedger,
    clock: Clock,
    settings: TesterSettings,
    rand: RandomSource,
    metrics: TesterMetrics,
    verdicts: VerdictStore,
    sequence: int | None = None,
    progress: ProgressPort | None = None,
) -> None:
    """Run one connection test end to end (see the module docstring).

    ``sequence`` is the command's position in its stream; it orders tests of the same
    connection. Without it (an in-memory bus), commands are taken in arrival order.
    ``progress`` carries the live feed (none: the test runs without one).
    """
    rid = run_id(cmd)
    if await ledger.is_done(rid):
        if cmd.reason == TestReason.RETRY:  # a republished retry: make sure it stops
            await scheduler.cancel(cmd.connection_id, only=rid)
        return
    outcome = await ledger.outcome(rid)  # a redelivery after the decision: finish it as decided
    if outcome is None:
        skip = await _skip_reason(cmd, sequence, scheduler=scheduler, ledger=ledger)
        if skip is not None:
            log.info("test %s attempt %d of %s skipped: %s", cmd.test_id, cmd.attempt, cmd.connection_id, skip)
            metrics.superseded(cmd.exchange)
            await ledger.mark_done(rid)
            return
        if cmd.reason != TestReason.RETRY:
            await scheduler.cancel(cmd.connection_id)  # a fresh test supersedes a pending retry
        outcome = await _run(
            cmd, probe=probe, publish=publish, clock=clock, settings=settings, rand=rand, progress=progress
        )
        # Only the newest test of a connection speaks for it; a deletion also ends this one.
        current = await ledger.current(cmd.connection_id)
        if current is None or current.run_id != rid or await ledger.is_deleted(cmd.connection_id):
            log.info("test %s of %s superseded while running; verdict dropped", cmd.test_id, cmd.connection_id)
            metrics.superseded(cmd.exchange)
            await ledger.mark_done(rid)
            return
        await ledger.save_outcome(rid, outcome)
    await _finish(
        cmd,
        outcome,
        publish=publish,
        scheduler=scheduler,
        ledger=ledger,
        verdicts=verdicts,
        metrics=metrics,
        progress=progress,
    )


async def _run(
    cmd: TestRequested,
    *,
    probe: ProbePort,
    publish: PublishPort,
    clock: Clock,
    settings: TesterSettings,
    rand: RandomSource,
    progress: ProgressPort | None,
) -> RunOutcome:
    """Announce the test, gather the facts (relaying live progress), judge them, plan the retry."""
    started_at = clock.now()
    await publish.publish(
        subjects.TEST_STARTED,
        TestStarted(
            message_id=message_id(cmd, "started"),
            test_id=cmd.test_id,
            connection_id=cmd.connection_id,
            user_id=cmd.user_id,
            exchange=cmd.exchange,
            attempt=cmd.attempt,
            started_at=started_at,
            reason=cmd.reason,
        ),
    )
    async with ProgressRelay(cmd, progress, settings.egress_ips).watching():
        reply = await _ask(cmd, probe, settings.probe_timeout_s)
    finished_at = clock.now()
    result = judge(
        cmd,
        reply,
        started_at=started_at,
        finished_at=finished_at,
        egress_ips=settings.egress_ips,
        expiry_warning_days=settings.expiry_warning_days,
        now=finished_at,
    )
    code = result.error.code if result.error is not None else None
    retry_at = settings.retry_policy.next_retry_at(
        code, cmd.attempt, now=finished_at, rand=rand, retry_after_s=retry_after_s(reply)
    )
    if retry_at is None:
        return RunOutcome(result=result)
    retry = PendingRetry(command=retry_command(cmd, occurred_at=finished_at), due_at=retry_at)
    return RunOutcome(result=result.model_copy(update={"next_retry_at": retry_at}), retry=retry)


async def _finish(
    cmd: TestRequested,
    outcome: RunOutcome,
    *,
    publish: PublishPort,
    scheduler: RetryScheduler,
    ledger: RunLedger,
    verdicts: VerdictStore,
    metrics: TesterMetrics,
    progress: ProgressPort | None,
) -> None:
    """Act on a decided outcome: store the retry, record the verdict, publish the checks and the
    verdict, mark the run done.

    Every step is idempotent, so a redelivery may repeat any of them.
    """
    rid = run_id(cmd)
    if await ledger.is_deleted(cmd.connection_id):
        await ledger.mark_done(rid)
        return
    replacing = rid if cmd.reason == TestReason.RETRY else None
    if outcome.retry is not None:
        if await ledger.is_done(outcome.retry.run_id):
            # A late redelivery: the next attempt already ran and spoke for the test.
            await ledger.mark_done(rid)
            return
        pending = await scheduler.pending(cmd.connection_id)
        already = pending is not None and pending.run_id == outcome.retry.run_id
        if not already and await scheduler.schedule(outcome.retry, replacing=replacing):
            metrics.retry_scheduled(cmd.exchange)
    elif replacing is not None:
        await scheduler.cancel(cmd.connection_id, only=replacing)

    result = outcome.result
    await _record_verdict(cmd, result, verdicts=verdicts, ledger=ledger)
    passed = result.status == "passed"
    verdict_cls = TestPassed if passed else TestFailed
    # Core NATS first, then the durable verdict on the same connection: a live feed sees the
    # final checks before the event that ends the test.
    await publish_final_checks(progress, cmd, result)
    await publish.publish(
        subjects.TEST_PASSED if passed else subjects.TEST_FAILED,
        verdict_cls(
            message_id=message_id(cmd, "verdict"),
            occurred_at=result.finished_at,
            connection_id=cmd.connection_id,
            user_id=cmd.user_id,
            exchange=cmd.exchange,
            result=result,
            secret_version=cmd.secret_version,
        ),
    )
    await ledger.mark_done(rid)
    code = result.error.code if result.error is not None else "none"
    duration_s = (result.finished_at - result.started_at).total_seconds()
    metrics.test_finished(cmd.exchange, result.status, code, duration_s)


async def _record_verdict(
    cmd: TestRequested, result: TestResult, *, verdicts: VerdictStore, ledger: RunLedger
) -> None:
    """Store the run's verdict for the connector, if the run still is the connection's newest.

    Compare-and-set against the revision read *before* checking that the run is current: a
    newer run that claimed the connection and stored its verdict in between makes the write
    fail, and the re-read then finds this run superseded. A redelivery finding its own verdict
    stored writes nothing. Raises :class:`VerdictNotRecorded` when the store keeps moving.
    """
    verdict = ConnectionVerdict(
        connection_id=cmd.connection_id,
        test_id=cmd.test_id,
        attempt=cmd.attempt,
        secret_version=cmd.secret_version,
        status=result.status,
        code=result.error.code if result.error is not None else None,
        decided_at=result.finished_at,
    )
    for _ in range(_VERDICT_CAS_TRIES):
        stored, revision = await verdicts.read(cmd.connection_id)
        if stored == verdict:
            return
        current = await ledger.current(cmd.connection_id)
        if current is None or current.run_id != run_id(cmd):
            log.info("test %s of %s is not the newest: its verdict is not recorded", cmd.test_id, cmd.connection_id)
            return
        if await verdicts.write(verdict, revision):
            return
    raise VerdictNotRecorded(cmd.connection_id)


async def _index(
    event: TestPassed | TestFailed,
    kind: RetestKind,
    *,
    index: RetestIndex,
    ledger: RunLedger,
    settings: TesterSettings,
) -> None:
    """Put the connection in the re-test index as ``kind``, unless the event is stale."""
    if await ledger.is_deleted(event.connection_id):
        return
    current = await ledger.current(event.connection_id)
    if current is None:
        log.warning("test %s has no command on record; not indexed", event.result.test_id)
        return
    finished = event.result.finished_at
    existing = await index.get(event.connection_id)
    if existing is not None and existing.last_verdict_at >= finished:
        return  # an older verdict delivered late
    await index.put(
        RetestEntry(
            connection_id=event.connection_id,
            exchange=event.exchange,
            kind=kind,
            template=current.command,
            last_verdict_at=finished,
            next_due_at=next_due_at(event.connection_id, settings.retest_interval_for(kind), finished),
        )
    )


async def handle_test_passed(
    event: TestPassed, *, index: RetestIndex, ledger: RunLedger, settings: TesterSettings
) -> None:
    """Index the connection as Online; its next re-test falls on its slot."""
    await _index(event, "online", index=index, ledger=ledger, settings=settings)


async def handle_test_failed(
    event: TestFailed, *, index: RetestIndex, ledger: RunLedger, settings: TesterSettings
) -> None:
    """The connection is no longer Online.

    A key problem takes it out of the index (the user must act; a new test comes from the
    gateway). A retryable failure with a retry pending leaves recovery to the retry. A
    retryable failure whose retries ran out keeps it indexed as an *outage* entry, so it
    comes back by itself once the exchange does.
    """
    error = event.result.error
    if error is not None and should_retry(error.code) and event.result.next_retry_at is None:
        await _index(event, "outage", index=index, ledger=ledger, settings=settings)
        return
    existing = await index.get(event.connection_id)
    if existing is not None and existing.last_verdict_at > event.result.finished_at:
        return  # a failure older than the pass that followed it
    await index.remove(event.connection_id)


async def handle_connection_deleted(
    event: ConnectionDeleted,
    *,
    index: RetestIndex,
    scheduler: RetryScheduler,
    ledger: RunLedger,
    verdicts: VerdictStore,
) -> None:
    """Forget the connection: no retry, no re-test, no verdict for a test still running, and
    no stored verdict (deleted last, after the runs that might still write one were cut off)."""
    await ledger.mark_deleted(event.connection_id)
    await scheduler.cancel(event.connection_id)
    await index.remove(event.connection_id)
    await ledger.forget(event.connection_id)
    await verdicts.delete(event.connection_id)

