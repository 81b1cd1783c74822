"""Helpers for the tester's integration tests: a clean tester state on the session's NATS,
a fake connector answering probes, and an event recorder."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.errors import BucketNotFoundError, NotFoundError

from bf_shared import subjects
from bf_shared.bus import ensure_streams
from bf_shared.messages import (
    KeyFacts,
    Permissions,
    ProbeError,
    ProbeName,
    ProbeOutcome,
    ProbeReply,
    ProbeRequest,
    TestRequested,
)

from bf_tester.entrypoints.consumers import COMMAND_CONSUMER, INDEX_CONSUMER, command_consumer_config, index_consumer_config
from bf_tester.settings import TesterSettings


async def reset_tester_state(nc: Client, settings: TesterSettings) -> None:
    """Forget every tester consumer and the tester's bucket; start the consumers at "now".

    The session's NATS is shared with other suites: commands and events they left in the
    streams are not this test's business, so the durable consumers skip them.
    """
    js = nc.jetstream()
    await ensure_streams(js)
    for stream, name in ((subjects.COMMANDS_STREAM, COMMAND_CONSUMER), (subjects.EVENTS_STREAM, INDEX_CONSUMER)):
        try:
            await js.delete_consumer(stream, name)
        except NotFoundError:
            pass
    try:
        await js.delete_key_value(subjects.KV_TESTER)
    except (BucketNotFoundError, NotFoundError):
        pass
    await js.add_consumer(
        subjects.COMMANDS_STREAM, dataclasses.replace(command_consumer_config(settings), deliver_policy=DeliverPolicy.NEW)
    )
    await js.add_consumer(
        subjects.EVENTS_STREAM, dataclasses.replace(index_consumer_config(), deliver_policy=DeliverPolicy.NEW)
    )


def healthy(req: ProbeRequest) -> ProbeReply:
    names = [ProbeName.EXCHANGE_STATUS, ProbeName.CREDENTIALS, ProbeName.READ_BALANCE, ProbeName.PERMISSIONS]
    if "spot" in req.markets:
        names.append(ProbeName.TRADE)
    return ProbeReply(
        test_id=req.test_id,
        connection_id=req.connection_id,
        exchange=req.exchange,
        outcomes=tuple(ProbeOutcome(name=n, ok=True) for n in names),
        key=KeyFacts(
            permissions=Permissions(read=True, trade=True, withdraw=False, futures=None),
            ip_restricted=True,
            source="introspection",
        ),
    )


def exchange_down(req: ProbeRequest) -> ProbeReply:
    return ProbeReply(
        test_id=req.test_id,
        connection_id=req.connection_id,
        exchange=req.exchange,
        outcomes=(
            ProbeOutcome(
                name=ProbeName.EXCHANGE_STATUS,
                ok=False,
                error=ProbeError(code="exchange_unavailable", http_status=503),
            ),
        ),
    )


class FakeConnector:
    """Answers probes on the exchange's subject in the connectors' queue group."""

    def __init__(self, nc: Client, exchange: str, answer: Callable[[ProbeRequest], ProbeReply]) -> None:
        self.nc = nc
        self.exchange = exchange
        self.answer = answer
        self.requests: list[ProbeRequest] = []
        self._sub: Any = None

    async def start(self) -> FakeConnector:
        async def on_probe(msg: Msg) -> None:
            req = ProbeRequest.model_validate_json(msg.data)
            self.requests.append(req)
            await msg.respond(self.answer(req).model_dump_json().encode())

        self._sub = await self.nc.subscribe(
            subjects.probe_subject(self.exchange), queue=subjects.CONNECTOR_QUEUE, cb=on_probe
        )
        return self

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()


class Recorder:
    """Collects test events (core subscription: JetStream publishes reach it too)."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()
        self._sub: Any = None

    async def start(self) -> Recorder:
        import json

        async def on_event(msg: Msg) -> None:
            self.events.append((msg.subject, json.loads(msg.data)))
            self._changed.set()

        self._sub = await self.nc.subscribe("bf.evt.test.>", cb=on_event)
        return self

    def of(self, connection_id: str, subject: str | None = None) -> list[dict[str, Any]]:
        return [
            body for s, body in self.events
            if body.get("connection_id") == connection_id and (subject is None or s == subject)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)


async def send(nc: Client, cmd: TestRequested) -> None:
    """Publish a command durably, as the gateway does."""
    await nc.jetstream().publish(
        subjects.TEST_REQUESTED, cmd.model_dump_json().encode(), headers={"Nats-Msg-Id": cmd.message_id}
    )


async def connect(url: str) -> Client:
    return await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
