"""FastStream consumer of the connection events runners react to.

``runner-connections`` — one durable pull consumer on BF_EVENTS (test passed/failed, key
rotated, connection deleted) shared by every runner replica, one message at a time so a
connection's events are applied in order. Acked after the handler, redelivered on failure.
:func:`ensure_consumer` brings an existing consumer's configuration (its subjects) up to
date at start-up: binding alone would keep the one it was first created with.
"""

from __future__ import annotations

import logging

from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.bus import EVENTS, decode
from bf_shared.messages import ConnectionCredentialsRotated, ConnectionDeleted, TestFailed, TestPassed

from bf_runner import handlers

log = logging.getLogger(__name__)

CONNECTIONS_CONSUMER = "runner-connections"
_NAK_DELAY_S = 2.0


def consumer_config() -> ConsumerConfig:
    """The durable ``runner-connections`` consumer."""
    return ConsumerConfig(
        durable_name=CONNECTIONS_CONSUMER,
        name=CONNECTIONS_CONSUMER,
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=30.0,
        max_deliver=20,
        deliver_policy=DeliverPolicy.ALL,
        filter_subjects=[subjects.TEST_PASSED, subjects.TEST_FAILED, subjects.CONNECTION_CREDENTIALS_ROTATED,
                         subjects.CONNECTION_DELETED],
    )


async def ensure_consumer(js: JetStreamContext) -> None:
    """Create the consumer, or update an existing one to :func:`consumer_config` (its subjects)."""
    await js.add_consumer(subjects.EVENTS_STREAM, config=consumer_config())


def register(broker: NatsBroker, store: handlers.ConnectionRecords) -> None:
    """Attach the runner's consumer to ``broker`` (before it starts)."""

    @broker.subscriber(
        "",
        stream=EVENTS,
        durable=CONNECTIONS_CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        config=consumer_config(),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_connection_event(msg: NatsMessage) -> None:
        subject: str = msg.raw_message.subject
        try:
            if subject == subjects.TEST_PASSED:
                await handlers.handle_test_result(decode(TestPassed, msg.body), store=store)
            elif subject == subjects.TEST_FAILED:
                await handlers.handle_test_result(decode(TestFailed, msg.body), store=store)
            elif subject == subjects.CONNECTION_CREDENTIALS_ROTATED:
                await handlers.handle_credentials_rotated(decode(ConnectionCredentialsRotated, msg.body), store=store)
            elif subject == subjects.CONNECTION_DELETED:
                await handlers.handle_connection_deleted(decode(ConnectionDeleted, msg.body), store=store)
        except ValidationError as e:
            log.error("%s: invalid message dropped (%d validation errors)", subject, e.error_count())
            await msg.reject()
            return
        except Exception:
            log.exception("%s failed; redelivered in %.0f s", subject, _NAK_DELAY_S)
            await msg.nack(delay=_NAK_DELAY_S)
            return
        await msg.ack()
