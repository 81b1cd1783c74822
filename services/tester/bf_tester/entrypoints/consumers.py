"""FastStream consumers: parse a message, call a handler, settle the message. Nothing else.

* ``tester`` — durable pull consumer on ``bf.cmd.test.requested`` (stream BF_COMMANDS).
  Every tester replica pulls from the same durable consumer, so they share the work; a
  command is acked only after its handler finished, and redelivered when a replica dies
  mid-test (``ack_wait`` exceeds the probe timeout) or the handler failed (NAK with delay).
* ``tester-index`` — durable pull consumer on the tester's own verdicts and
  ``ConnectionDeleted`` (stream BF_EVENTS). ``max_ack_pending=1``: one event at a time
  across all replicas, so the re-test index sees a connection's events in stream order.

A message that does not validate can never succeed: it is logged (without its body) and
terminated instead of being redelivered forever.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.bus import COMMANDS, EVENTS, decode
from bf_shared.messages import ConnectionDeleted, TestFailed, TestPassed, TestRequested

from bf_tester import handlers
from bf_tester.domain.retry import RandomSource
from bf_tester.ports import (
    Clock,
    RetestIndex,
    ProbePort,
    ProgressPort,
    PublishPort,
    RetryScheduler,
    RunLedger,
    TesterMetrics,
    VerdictStore,
)
from bf_tester.settings import TesterSettings

log = logging.getLogger(__name__)

COMMAND_CONSUMER = "tester"
INDEX_CONSUMER = "tester-index"
_NAK_DELAY_S = 5.0
_MAX_DELIVER = 20


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything the handlers need, wired once by :mod:`bf_tester.bootstrap`."""

    probe: ProbePort
    publish: PublishPort
    scheduler: RetryScheduler
    ledger: RunLedger
    index: RetestIndex
    clock: Clock
    settings: TesterSettings
    rand: RandomSource
    metrics: TesterMetrics
    verdicts: VerdictStore
    progress: ProgressPort | None = None


def stream_sequence(msg: NatsMessage) -> int | None:
    """The message's JetStream stream sequence (None on a bus without one)."""
    try:
        return int(msg.raw_message.metadata.sequence.stream)
    except Exception:  # core/in-memory messages carry no JetStream metadata
        return None


async def _settle(msg: NatsMessage, what: str, work: Callable[[], Awaitable[None]]) -> None:
    try:
        await work()
    except ValidationError as e:
        log.error("%s: invalid message dropped (%d validation errors)", what, e.error_count())
        await msg.reject()
        return
    except Exception:
        log.exception("%s failed; redelivered in %.0f s", what, _NAK_DELAY_S)
        await msg.nack(delay=_NAK_DELAY_S)
        return
    await msg.ack()


def command_consumer_config(settings: TesterSettings) -> ConsumerConfig:
    """The durable ``tester`` consumer: explicit acks, ack wait beyond the probe timeout."""
    return ConsumerConfig(
        durable_name=COMMAND_CONSUMER,
        filter_subject=subjects.TEST_REQUESTED,
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        max_deliver=_MAX_DELIVER,
        # Commands published before the tester's very first start are handled too.
        deliver_policy=DeliverPolicy.ALL,
    )


def index_consumer_config() -> ConsumerConfig:
    """The durable ``tester-index`` consumer of verdicts and deletions, strictly in order."""
    return ConsumerConfig(
        durable_name=INDEX_CONSUMER,
        filter_subjects=[subjects.TEST_PASSED, subjects.TEST_FAILED, subjects.CONNECTION_DELETED],
        ack_policy=JsAckPolicy.EXPLICIT,
        max_ack_pending=1,
        ack_wait=30.0,
        max_deliver=_MAX_DELIVER,
        deliver_policy=DeliverPolicy.ALL,
    )


def register(broker: NatsBroker, deps: Deps) -> None:
    """Attach the tester's consumers to ``broker`` (before it starts)."""
    settings = deps.settings

    @broker.subscriber(
        subjects.TEST_REQUESTED,
        stream=COMMANDS,
        durable=COMMAND_CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        max_workers=settings.max_concurrent_tests,
        config=command_consumer_config(settings),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_test_requested(msg: NatsMessage) -> None:
        async def work() -> None:
            cmd = decode(TestRequested, msg.body)
            await handlers.handle_test_requested(
                cmd,
                probe=deps.probe,
                publish=deps.publish,
                scheduler=deps.scheduler,
                ledger=deps.ledger,
                clock=deps.clock,
                settings=settings,
                rand=deps.rand,
                metrics=deps.metrics,
                verdicts=deps.verdicts,
                sequence=stream_sequence(msg),
                progress=deps.progress,
            )

        await _settle(msg, "test requested", work)

    @broker.subscriber(
        "",
        stream=EVENTS,
        durable=INDEX_CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        config=index_consumer_config(),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_index_event(msg: NatsMessage) -> None:
        subject: str = msg.raw_message.subject

        async def work() -> None:
            await _dispatch_index_event(subject, msg.body, deps)

        await _settle(msg, f"index event {subject}", work)


async def _dispatch_index_event(subject: str, body: bytes, deps: Deps) -> None:
    if subject == subjects.TEST_PASSED:
        await handlers.handle_test_passed(
            decode(TestPassed, body), index=deps.index, ledger=deps.ledger, settings=deps.settings
        )
    elif subject == subjects.TEST_FAILED:
        await handlers.handle_test_failed(
            decode(TestFailed, body), index=deps.index, ledger=deps.ledger, settings=deps.settings
        )
    elif subject == subjects.CONNECTION_DELETED:
        await handlers.handle_connection_deleted(
            decode(ConnectionDeleted, body),
            index=deps.index,
            scheduler=deps.scheduler,
            ledger=deps.ledger,
            verdicts=deps.verdicts,
        )
    else:
        log.warning("unexpected subject %s on the index consumer", subject)
