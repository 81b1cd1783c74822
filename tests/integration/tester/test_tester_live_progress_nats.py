"""Live progress on a real nats-server: a fake connector (its own connection, as the real one)
reports each probe outcome on ``bf.rpc.progress.<test_id>`` and then replies; the tester turns
the outcomes into checks on ``bf.progress.<connection_id>.>`` (what the gateway relays to the
dashboard), in order, followed by the verdict's checks and only then the verdict event."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from prometheus_client import CollectorRegistry

from bf_shared import subjects
from bf_shared.messages import ProbeName, ProbeOutcome, ProbeProgress, ProbeRequest, TestReason, TestRequested

from bf_tester.bootstrap import TesterService
from bf_tester.settings import TesterSettings

from .harness import connect, healthy, reset_tester_state, send

# The order the fake connector's probes finish in (permissions shows no provisional check).
FINISHING = [ProbeName.EXCHANGE_STATUS, ProbeName.READ_BALANCE, ProbeName.PERMISSIONS, ProbeName.CREDENTIALS, ProbeName.TRADE]


def _settings(url: str) -> TesterSettings:
    return TesterSettings(nats_url=url, ops_port=0, log_json=False, probe_timeout_s=5.0, scheduler_tick_s=0.2)  # type: ignore[call-arg]


@pytest_asyncio.fixture
async def nc(nats_server: str) -> AsyncIterator[Client]:
    client = await connect(nats_server)
    await reset_tester_state(client, _settings(nats_server))
    try:
        yield client
    finally:
        await client.close()


class ReportingConnector:
    """Answers probes like the connector: progress per finished probe, then the reply."""

    def __init__(self, nc: Client, pause_s: float) -> None:
        self.nc = nc
        self.pause_s = pause_s

    async def start(self) -> None:
        async def on_probe(msg: Msg) -> None:
            req = ProbeRequest.model_validate_json(msg.data)
            for name in FINISHING:
                await asyncio.sleep(self.pause_s)
                progress = ProbeProgress(
                    test_id=req.test_id, connection_id=req.connection_id, outcome=ProbeOutcome(name=name, ok=True)
                )
                await self.nc.publish(subjects.probe_progress_subject(req.test_id), progress.model_dump_json().encode())
            await msg.respond(healthy(req).model_dump_json().encode())

        await self.nc.subscribe(subjects.probe_subject("mexc"), queue=subjects.CONNECTOR_QUEUE, cb=on_probe)


class LiveFeed:
    """One connection watching a connection's progress and the test events, like the gateway."""

    def __init__(self, nc: Client, connection_id: str) -> None:
        self.nc = nc
        self.connection_id = connection_id
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.verdict = asyncio.Event()

    async def start(self) -> None:
        async def on_message(msg: Msg) -> None:
            body = json.loads(msg.data)
            if msg.subject.startswith("bf.progress.") or body.get("connection_id") == self.connection_id:
                self.items.append((msg.subject, body))
            if msg.subject == subjects.TEST_PASSED and body.get("connection_id") == self.connection_id:
                self.verdict.set()

        await self.nc.subscribe(f"bf.progress.{self.connection_id}.>", cb=on_message)
        await self.nc.subscribe("bf.evt.test.>", cb=on_message)


async def _run_one_test(nats_server: str, nc: Client, pause_s: float) -> tuple[TestRequested, list[tuple[str, dict[str, Any]]]]:
    connector_nc = await connect(nats_server)
    feed_nc = await connect(nats_server)
    tester = TesterService(_settings(nats_server), registry=CollectorRegistry(), with_ops=False)
    try:
        await ReportingConnector(connector_nc, pause_s).start()
        cid = uuid.uuid4().hex
        feed = LiveFeed(feed_nc, cid)
        await feed.start()
        await feed_nc.flush()
        await tester.start()
        cmd = TestRequested(connection_id=cid, user_id="u-live", exchange="mexc", markets=("spot",), reason=TestReason.MANUAL)
        await send(nc, cmd)
        await asyncio.wait_for(feed.verdict.wait(), 15)
        return cmd, feed.items
    finally:
        await tester.stop()
        await connector_nc.close()
        await feed_nc.close()


def _shape(items: list[tuple[str, dict[str, Any]]], cid: str) -> list[str]:
    out = []
    for subject, body in items:
        if subject == subjects.progress_subject(cid, "check"):
            out.append(f"check:{body['check']['name']}={body['check']['status']}")
        elif subject == subjects.progress_subject(cid, "checks"):
            out.append(f"checks:{len(body['checks'])}")
        else:
            out.append(subject)
    return out


async def test_checks_reach_the_live_feed_in_order_before_the_verdict(nats_server: str, nc: Client) -> None:
    cmd, items = await _run_one_test(nats_server, nc, pause_s=0.1)
    cid = cmd.connection_id

    assert _shape(items, cid) == [
        subjects.TEST_STARTED,
        "check:exchange_status=ok",
        "check:read=ok",
        "check:api_key=ok",
        "check:trade=ok",
        "checks:7",
        subjects.TEST_PASSED,
    ]
    progress = [body for subject, body in items if subject.startswith("bf.progress.")]
    assert {(body["test_id"], body["attempt"]) for body in progress} == {(cmd.test_id, 1)}
    # The dashboard's payload shape: one check {name, status, detail}.
    assert set(progress[0]["check"]) == {"name", "status", "detail"}
    verdict = items[-1][1]
    assert progress[-1]["checks"] == verdict["result"]["checks"]


async def test_progress_sent_just_before_the_reply_is_not_lost(nats_server: str, nc: Client) -> None:
    # No pause: every outcome and the reply leave the connector back to back.
    cmd, items = await _run_one_test(nats_server, nc, pause_s=0.0)
    assert _shape(items, cmd.connection_id)[1:6] == [
        "check:exchange_status=ok", "check:read=ok", "check:api_key=ok", "check:trade=ok", "checks:7",
    ]
