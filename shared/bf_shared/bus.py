"""Bus wiring: the FastStream broker, JetStream streams, KV buckets and publishing.

Publishing an event or command always goes through :func:`publish`, which sets the
JetStream ``Nats-Msg-Id`` header to the message id: a retried publish within the stream's
duplicate window is stored once. Consumers additionally de-duplicate on ``message_id``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TypeVar

from faststream.nats import JStream, NatsBroker
from nats.js.api import KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, BucketNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from bf_shared import subjects
from bf_shared.metrics import event_metrics

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

DAY = 24 * 3600.0

def _config(name: str, subject: str, max_age: float, *, immutable: bool = False) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=[subject],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=max_age,
        duplicate_window=120.0,
        deny_delete=immutable,
        deny_purge=immutable,
    )


#: Stream configurations: events kept 30 days, commands 7 days, the audit trail 400 days
#: and immutable. Publishes with the same Nats-Msg-Id within 2 minutes are stored once.
STREAM_CONFIGS: tuple[StreamConfig, ...] = (
    _config(subjects.EVENTS_STREAM, subjects.EVENTS_SUBJECTS, 30 * DAY),
    _config(subjects.COMMANDS_STREAM, subjects.COMMANDS_SUBJECTS, 7 * DAY),
    _config(subjects.AUDIT_STREAM, subjects.AUDIT_SUBJECTS, 400 * DAY, immutable=True),
)

#: For FastStream subscribers. ``declare=False``: the streams are created by
#: :func:`ensure_streams` with their full configuration, never implicitly.
EVENTS = JStream(subjects.EVENTS_STREAM, declare=False)
COMMANDS = JStream(subjects.COMMANDS_STREAM, declare=False)
AUDIT = JStream(subjects.AUDIT_STREAM, declare=False)


def stream_for(subject: str) -> str:
    """The stream that stores ``subject``."""
    if subject.startswith("bf.evt."):
        return subjects.EVENTS_STREAM
    if subject.startswith("bf.cmd."):
        return subjects.COMMANDS_STREAM
    if subject.startswith("bf.audit."):
        return subjects.AUDIT_STREAM
    raise ValueError(f"{subject} is not a durable subject")


def make_broker(nats_url: str, name: str) -> NatsBroker:
    """A broker that reconnects forever; nothing connects until the app starts.

    Every subscriber is counted by :mod:`bf_shared.metrics` (consumed/redelivered/failed).
    """
    return NatsBroker(
        [u.strip() for u in nats_url.split(",") if u.strip()],
        name=name,
        middlewares=(event_metrics(name),),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        logger=logging.getLogger(f"bf.{name}.broker"),
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create (or update) the streams. Idempotent; every service calls it at start-up."""
    for base in STREAM_CONFIGS:
        cfg = dataclasses.replace(base, num_replicas=replicas)
        try:
            await js.add_stream(cfg)
        except BadRequestError:  # exists with other settings: bring it up to date
            await js.update_stream(cfg)


async def publish(broker: NatsBroker, subject: str, message: BaseModel) -> None:
    """Publish ``message`` durably to ``subject`` (JetStream ack awaited, de-duplicated)."""
    message_id = getattr(message, "message_id", None)
    # FastStream's publish() has no content_type argument; a header we pass wins over the
    # empty one it derives from a bytes body.
    headers = {"content-type": "application/json"}
    if message_id:
        headers["Nats-Msg-Id"] = message_id
    await broker.publish(
        message.model_dump_json().encode(),
        subject,
        stream=stream_for(subject),
        headers=headers,
    )


async def kv_bucket(
    js: JetStreamContext,
    bucket: str,
    *,
    history: int = 1,
    ttl: float | None = None,
    replicas: int = 1,
) -> KeyValue:
    """Open ``bucket``, creating it when missing."""
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=bucket,
                history=history,
                ttl=ttl,
                storage=StorageType.FILE,
                replicas=replicas,
            )
        )


def decode(model: type[M], data: bytes) -> M:
    """Validate bytes from the bus into ``model`` (raises on unknown fields)."""
    return model.model_validate_json(data)
