"""Durable JetStream consumers of the alerter: parse, call a handler, decide ack/nak.

* ``alerter`` on ``bf.evt.>`` (BF_EVENTS), created with deliver-policy *new*: a freshly
  deployed alerter does not page users for 30 days of history; once it exists, it resumes
  where it stopped.
* ``audit-events`` on ``bf.evt.>`` and ``audit-commands`` on ``bf.cmd.test.requested``,
  created with deliver-policy *all*: the audit trail is back-filled from what the streams
  still hold.

One message at a time per consumer (pull batch of 1), so a connection's events are
evaluated in order. A malformed message is terminated (never redelivered); a concurrent
state update or an unavailable store is NAKed with a growing delay.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from faststream.exceptions import NackMessage, RejectMessage
from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.bus import COMMANDS, EVENTS

from bf_alerter.domain.strategy import Envelope
from bf_alerter.handlers import AlertDeps, handle_event, project_audit
from bf_alerter.ports import AuditSink, Conflict

log = logging.getLogger(__name__)

ALERT_CONSUMER = "alerter"
AUDIT_EVENTS_CONSUMER = "audit-events"
AUDIT_COMMANDS_CONSUMER = "audit-commands"


def envelope_of(msg: NatsMessage) -> Envelope:
    """The subject, body and delivery facts of a JetStream message."""
    raw = msg.raw_message
    meta = raw.metadata
    headers = raw.headers or {}
    delivery_id = headers.get("Nats-Msg-Id") or f"{meta.stream}.{meta.sequence.stream}"
    published = meta.timestamp or datetime.now(UTC)
    return Envelope(subject=raw.subject, data=raw.data, delivery_id=delivery_id, published_at=published)


def _retry_delay(msg: NatsMessage) -> float:
    delivered = msg.raw_message.metadata.num_delivered
    return min(30.0, 0.25 * 2 ** min(delivered, 8))


async def _guarded(msg: NatsMessage, work: Callable[[Envelope], Awaitable[object]]) -> None:
    try:
        env = envelope_of(msg)
        await work(env)
    except (ValidationError, ValueError) as e:
        # A message that cannot be parsed will never parse: stop redelivering it.
        log.error("dropping malformed message on %s: %s", msg.raw_message.subject, type(e).__name__)
        raise RejectMessage() from e
    except Conflict:
        raise NackMessage(delay=0.1) from None
    except Exception as e:
        log.warning("handling %s failed (%s); will retry", msg.raw_message.subject, type(e).__name__)
        raise NackMessage(delay=_retry_delay(msg)) from e


def register(broker: NatsBroker, deps: AlertDeps, audit: AuditSink, *, ack_wait_s: float = 120.0) -> None:
    """Attach the alerter's consumers to ``broker`` (before ``broker.start()``)."""

    @broker.subscriber(
        subjects.EVENTS_SUBJECTS,
        stream=EVENTS,
        durable=ALERT_CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW, ack_wait=ack_wait_s, max_deliver=50),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="alerter",
        description="Turns connection, test and strategy events into user notifications.",
    )
    async def on_event(msg: NatsMessage) -> None:
        async def work(env: Envelope) -> None:
            async def keepalive() -> None:
                await msg.in_progress()

            await handle_event(env, _with_keepalive(deps, keepalive))

        await _guarded(msg, work)

    @broker.subscriber(
        subjects.EVENTS_SUBJECTS,
        stream=EVENTS,
        durable=AUDIT_EVENTS_CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=30.0, max_deliver=50),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="audit-events",
        description="Copies connection, test and strategy events into the immutable audit trail.",
    )
    async def on_audited_event(msg: NatsMessage) -> None:
        await _guarded(msg, lambda env: project_audit(env, audit))

    @broker.subscriber(
        subjects.TEST_REQUESTED,
        stream=COMMANDS,
        durable=AUDIT_COMMANDS_CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=30.0, max_deliver=50),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="audit-commands",
        description="Records user-requested connection tests in the audit trail.",
    )
    async def on_audited_command(msg: NatsMessage) -> None:
        await _guarded(msg, lambda env: project_audit(env, audit))


def _with_keepalive(deps: AlertDeps, keepalive: Callable[[], Awaitable[None]]) -> AlertDeps:
    from dataclasses import replace

    return replace(deps, keepalive=keepalive)
