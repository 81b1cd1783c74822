"""The live feed behind ``GET /connections/{id}/events``: an in-process fan-out hub, fed from NATS.

Every gateway replica subscribes (core NATS, no consumer state) to the test events, to
connection deletions and to ``bf.progress.<connection_id>.>``, and hands each message to the
SSE streams open for that connection on this replica. A slow client loses its oldest
undelivered events rather than growing memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel, ValidationError

from bf_shared import subjects
from bf_shared.messages import ConnectionDeleted, TestFailed, TestPassed, TestStarted

log = logging.getLogger(__name__)

LiveKind = Literal["test-started", "test-passed", "test-failed", "progress", "connection-deleted"]

MAX_PROGRESS_BYTES = 8192

_EVENTS: dict[str, tuple[LiveKind, type[BaseModel]]] = {
    subjects.TEST_STARTED: ("test-started", TestStarted),
    subjects.TEST_PASSED: ("test-passed", TestPassed),
    subjects.TEST_FAILED: ("test-failed", TestFailed),
    subjects.CONNECTION_DELETED: ("connection-deleted", ConnectionDeleted),
}


@dataclass(frozen=True)
class LiveEvent:
    """One item of a connection's live feed: a bus event, or a progress payload (a JSON object)."""

    kind: LiveKind
    connection_id: str
    event_id: str
    message: BaseModel | None = None
    data: dict[str, Any] = field(default_factory=dict)


class LiveHub:
    """Fan-out of live events to the streams watching each connection."""

    def __init__(self, queue_size: int = 100) -> None:
        self._queue_size = queue_size
        self._queues: defaultdict[str, set[asyncio.Queue[LiveEvent]]] = defaultdict(set)

    @contextlib.asynccontextmanager
    async def subscribe(self, connection_id: str) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        """A queue receiving the connection's events until the context exits."""
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(self._queue_size)
        self._queues[connection_id].add(queue)
        try:
            yield queue
        finally:
            self._queues[connection_id].discard(queue)
            if not self._queues[connection_id]:
                del self._queues[connection_id]

    def watching(self, connection_id: str) -> int:
        """How many streams watch the connection."""
        return len(self._queues.get(connection_id, ()))

    def dispatch(self, event: LiveEvent) -> None:
        for queue in self._queues.get(event.connection_id, ()):
            if queue.full():  # a stalled client: drop its oldest event, keep the newest
                queue.get_nowait()
            queue.put_nowait(event)


def parse(subject: str, data: bytes, event_id: str) -> LiveEvent | None:
    """The live event carried by a NATS message, or ``None`` when it is not one."""
    if subject.startswith("bf.progress."):
        tokens = subject.split(".")
        if len(tokens) < 4 or len(data) > MAX_PROGRESS_BYTES:
            return None
        try:
            payload = json.loads(data)
        except ValueError:
            return None
        return LiveEvent("progress", tokens[2], event_id, data=payload) if isinstance(payload, dict) else None
    known = _EVENTS.get(subject)
    if known is None:
        return None
    kind, model = known
    try:
        message = model.model_validate_json(data)
    except ValidationError:
        log.warning("undecodable %s message skipped by the live feed", subject)
        return None
    return LiveEvent(kind, str(getattr(message, "connection_id")), str(getattr(message, "message_id")), message)


class NatsLiveFeed:
    """Feeds a :class:`LiveHub` from core NATS subscriptions."""

    def __init__(self, nc: Client, hub: LiveHub) -> None:
        self._nc = nc
        self._hub = hub
        self._subs: list[Subscription] = []
        self._seq = 0

    async def start(self) -> None:
        for pattern in ("bf.evt.test.*", subjects.CONNECTION_DELETED, "bf.progress.*.>"):
            self._subs.append(await self._nc.subscribe(pattern, cb=self._on_message))

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()

    async def _on_message(self, msg: Msg) -> None:
        self._seq += 1
        # Cheap filter first: most messages concern connections nobody watches here.
        if msg.subject.startswith("bf.progress."):
            tokens = msg.subject.split(".")
            if len(tokens) < 4 or not self._hub.watching(tokens[2]):
                return
        event = parse(msg.subject, msg.data, event_id=f"p{self._seq}")
        if event is not None:
            self._hub.dispatch(event)
