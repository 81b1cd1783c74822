"""``GET /api/v1/connections/{id}/events``: the connection's live feed as Server-Sent Events.

Auth: ``Authorization: Bearer <token>``, or ``?access_token=<token>`` because a browser's
``EventSource`` cannot send headers. Frames, each with ``id`` and a JSON ``data``:

* ``connection`` — first frame: the connection as ``GET /connections/{id}`` returns it;
* ``test-started`` — ``{connection_id, test_id, attempt, started_at}``;
* ``test-passed`` / ``test-failed`` — ``{connection_id, test_id, result}`` (``result`` is a
  ``last_test`` object, texts in the request's language);
* ``progress`` — a per-check progress object published on ``bf.progress.<connection_id>.>``;
* ``connection-deleted`` — ``{connection_id}``; the stream then ends.

Idle streams get a ``: ping`` comment every 15 s so proxies keep them open. A reconnecting
client (``Last-Event-ID``) starts again from a fresh ``connection`` snapshot: the snapshot
holds everything the missed events would have changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from bf_shared.messages import TestFailed, TestPassed, TestStarted

from bf_gateway.adapters.live import LiveEvent
from bf_gateway.adapters.tokens import Claims
from bf_gateway.domain.connections import ConnectionView
from bf_gateway.entrypoints.security import deps_of, principal_for_stream
from bf_gateway.entrypoints.views import connection_out, last_test_out
from bf_gateway.handlers.connections import get_connection
from bf_gateway.i18n import pick_language

router = APIRouter(prefix="/api/v1/connections", tags=["live"])

RECONNECT_MS = 3000


async def _owned(
    connection_id: str, request: Request, caller: Annotated[Claims, Depends(principal_for_stream)]
) -> ConnectionView:
    # Checked before the stream starts, so a stranger gets a plain 404, not an empty stream.
    return await get_connection(caller.user_id, connection_id, deps_of(request).connections)


def _frame(event: LiveEvent, user_id: str, lang: str, egress_ips: tuple[str, ...]) -> ServerSentEvent | None:
    message = event.message
    if message is not None and getattr(message, "user_id", user_id) != user_id:
        return None  # connection ids are unique; this is a second lock on the door
    data: dict[str, Any]
    if isinstance(message, TestStarted):
        data = {
            "connection_id": message.connection_id,
            "test_id": message.test_id,
            "attempt": message.attempt,
            "started_at": message.started_at.isoformat(),
        }
    elif isinstance(message, TestPassed | TestFailed):
        result = last_test_out(message.result, lang, egress_ips)
        data = {
            "connection_id": message.connection_id,
            "test_id": message.result.test_id,
            "result": result.model_dump(mode="json"),
        }
    elif event.kind == "progress":
        data = event.data
    else:
        data = {"connection_id": event.connection_id}
    return ServerSentEvent(event=event.kind, id=event.event_id, data=data)


@router.get("/{connection_id}/events", response_class=EventSourceResponse)
async def live_events(
    connection_id: str, request: Request, view: Annotated[ConnectionView, Depends(_owned)]
) -> AsyncIterator[ServerSentEvent]:
    """Stream the connection's test events and progress until it is deleted or the client leaves."""
    deps = deps_of(request)
    lang = pick_language(request.headers.get("accept-language"))
    deps.metrics.live_streams.inc()
    try:
        async with deps.live.subscribe(connection_id) as queue:
            # Subscribed first, then read: nothing that happens in between is missed.
            current = await deps.connections.views.get(view.user_id, connection_id)
            if current is None:
                yield ServerSentEvent(event="connection-deleted", data={"connection_id": connection_id})
                return
            snapshot = connection_out(current, lang, deps.egress_ips).model_dump(mode="json")
            yield ServerSentEvent(event="connection", id=f"v{current.updated_at.timestamp()}", data=snapshot, retry=RECONNECT_MS)
            while True:
                event = await queue.get()
                frame = _frame(event, view.user_id, lang, deps.egress_ips)
                if frame is not None:
                    yield frame
                if event.kind == "connection-deleted":
                    return
    finally:
        deps.metrics.live_streams.dec()
