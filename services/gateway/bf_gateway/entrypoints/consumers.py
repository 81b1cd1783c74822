"""The read-model projector's FastStream subscriber.

One durable pull consumer, ``bf_gateway_read_model``, on ``bf.evt.test.>`` of ``BF_EVENTS``:
shared by every gateway replica (each event is applied once, the KV's optimistic
concurrency settles races), kept in stream order, and replayed from the start of the
stream by a fresh deployment. Acknowledgement is explicit: applied or stale -> ack; the KV
did not answer -> nak with a delay (redelivered); an undecodable message -> terminated and
logged, since no retry can fix it.
"""

from __future__ import annotations

import logging

from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.bus import EVENTS
from bf_shared.messages import TestFailed, TestPassed, TestStarted

from bf_gateway.adapters.kv import KvError
from bf_gateway.handlers.projector import ProjectorDeps, project
from bf_gateway.metrics import GatewayMetrics

log = logging.getLogger(__name__)

DURABLE = "bf_gateway_read_model"
TEST_EVENTS_FILTER = "bf.evt.test.>"
RETRY_DELAY_S = 2.0

_MODELS: dict[str, tuple[str, type[TestStarted | TestPassed | TestFailed]]] = {
    subjects.TEST_STARTED: ("test_started", TestStarted),
    subjects.TEST_PASSED: ("test_passed", TestPassed),
    subjects.TEST_FAILED: ("test_failed", TestFailed),
}


def register_projector(broker: NatsBroker, deps: ProjectorDeps, metrics: GatewayMetrics) -> None:
    """Attach the projector's subscriber to ``broker`` (before ``broker.start()``)."""

    @broker.subscriber(
        TEST_EVENTS_FILTER,
        stream=EVENTS,
        durable=DURABLE,
        pull_sub=PullSub(batch_size=32, timeout=5.0),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_test_event(msg: NatsMessage) -> None:
        raw = msg.raw_message
        known = _MODELS.get(raw.subject)
        if known is None:  # a test event this gateway does not project (yet)
            await msg.ack()
            return
        name, model = known
        try:
            event = model.model_validate_json(raw.data)
        except ValidationError:
            log.error("undecodable %s event terminated (schema mismatch)", raw.subject)
            metrics.projection.labels(name, "undecodable").inc()
            await msg.reject()
            return
        try:
            outcome = await project(event, deps)
        except KvError as e:
            log.warning("read model not updated for %s (%s); redelivering", raw.subject, type(e).__name__)
            await msg.nack(delay=RETRY_DELAY_S)
            return
        metrics.projection.labels(name, outcome).inc()
        await msg.ack()
