"""The bus side of live progress: the connector's probe outcomes in, checks out (core NATS)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.messages import CheckProgress, ChecksProgress, ProbeProgress

log = logging.getLogger(__name__)

#: Longest wait, when a test's listening ends, for the outcomes already received to be handed on.
DRAIN_TIMEOUT_S = 1.0


class NatsProgress:
    """:class:`bf_tester.ports.ProgressPort` over core NATS.

    Outcomes arrive on :func:`bf_shared.subjects.probe_progress_subject` (one subscription per
    running test); checks leave on :func:`bf_shared.subjects.progress_subject`: step ``check``
    for a provisional check, ``checks`` for the verdict's checks.
    """

    def __init__(self, broker: NatsBroker, *, drain_timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        self._broker = broker
        self._drain_timeout_s = drain_timeout_s

    @contextlib.asynccontextmanager
    async def outcomes(
        self, test_id: str, deliver: Callable[[ProbeProgress], Awaitable[None]]
    ) -> AsyncIterator[None]:
        """Subscribe for ``test_id``'s outcomes; on exit drain what arrived, then unsubscribe."""
        subject = subjects.probe_progress_subject(test_id)

        async def on_message(msg: Msg) -> None:
            try:
                progress = ProbeProgress.model_validate_json(msg.data)
            except ValidationError as e:
                # Never echo the body: the error text would carry it.
                log.warning("malformed probe progress dropped (%d errors)", e.error_count())
                return
            await deliver(progress)

        # nats-py runs ``cb`` for one message at a time, in arrival order.
        sub = await self._broker.connection.subscribe(subject, cb=on_message)
        try:
            yield
        finally:
            await self._close(sub)

    async def _close(self, sub: Subscription) -> None:
        # Drain: one round trip to the server, then every message already received is handed
        # on. The connector publishes its progress before its reply on one connection, so all
        # of it is here by the time the reply is.
        try:
            async with asyncio.timeout(self._drain_timeout_s):
                await sub.drain()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped
            return
        except Exception as e:
            log.warning("probe progress subscription not drained (%s)", type(e).__name__)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    async def publish(self, connection_id: str, payload: CheckProgress | ChecksProgress) -> None:
        """Publish on the connection's live feed (core NATS: no one listening, nothing kept)."""
        step = "check" if isinstance(payload, CheckProgress) else "checks"
        await self._broker.publish(
            payload.model_dump_json().encode(),
            subjects.progress_subject(connection_id, step),
            headers={"content-type": "application/json"},
        )
