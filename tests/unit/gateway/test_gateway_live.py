"""The live feed (SSE): a snapshot, then this connection's events only, for its owner only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from bf_shared import subjects
from bf_shared.messages import ConnectionDeleted, Permissions, TestPassed, TestResult, TestStarted

from bf_gateway.adapters.live import LiveEvent, LiveHub, parse
from bf_gateway.testing import InMemoryGateway

from .conftest import API, Headers, mexc_body

T = datetime(2025, 1, 6, 9, 0, 3, tzinfo=UTC)


def frames(text: str) -> list[dict[str, Any]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in ("event", "id", "data"):
                fields[name] = json.loads(value) if name == "data" else value
        if fields:
            out.append(fields)
    return out


async def _stream_while(client: httpx.AsyncClient, gw: InMemoryGateway, url: str, headers: Headers, events: list[LiveEvent], cid: str) -> httpx.Response:
    request = asyncio.create_task(client.get(url, headers=headers))
    for _ in range(200):  # until the stream has subscribed
        if gw.live.watching(cid):
            break
        await asyncio.sleep(0.005)
    for event in events:
        gw.live.dispatch(event)
    return await asyncio.wait_for(request, timeout=5)


async def test_the_feed_sends_a_snapshot_then_test_events_and_progress_until_deletion(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    view = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()
    cid, user = view["id"], next(iter(gw.connections_kv.data)).split(".")[0]
    test_id = view["current_test"]["test_id"]
    result = TestResult(test_id=test_id, status="passed", started_at=T, finished_at=T, checks=(), permissions=Permissions(), ip_restricted=True, error=None)
    events = [
        LiveEvent("test-started", cid, "m1", TestStarted(test_id=test_id, connection_id=cid, user_id=user, exchange="mexc", started_at=T)),
        LiveEvent("progress", cid, "p1", data={"check": "credentials", "status": "ok"}),
        LiveEvent("test-started", "someone-else", "m9", TestStarted(test_id="x", connection_id="someone-else", user_id=user, exchange="mexc")),
        LiveEvent("test-passed", cid, "m2", TestPassed(connection_id=cid, user_id=user, exchange="mexc", result=result)),
        LiveEvent("connection-deleted", cid, "m3", ConnectionDeleted(connection_id=cid, user_id=user, exchange="mexc")),
    ]

    r = await _stream_while(client, gw, f"{API}/connections/{cid}/events", alice, events, cid)

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    got = frames(r.text)
    assert [f["event"] for f in got] == ["connection", "test-started", "progress", "test-passed", "connection-deleted"]
    assert got[0]["data"]["id"] == cid and got[0]["data"]["status"] == "testing"
    assert got[1]["data"] == {"connection_id": cid, "test_id": test_id, "attempt": 1, "started_at": T.isoformat()}
    assert got[2]["data"] == {"check": "credentials", "status": "ok"}
    assert got[3]["data"]["result"]["status"] == "passed" and got[3]["id"] == "m2"
    assert gw.live.watching(cid) == 0


async def test_the_feed_accepts_the_token_as_a_query_parameter(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()["id"]
    token = alice["Authorization"].removeprefix("Bearer ")
    bye = LiveEvent("connection-deleted", cid, "m1")

    r = await _stream_while(client, gw, f"{API}/connections/{cid}/events?access_token={token}", {}, [bye], cid)

    assert r.status_code == 200
    assert [f["event"] for f in frames(r.text)] == ["connection", "connection-deleted"]


async def test_the_query_token_is_accepted_on_the_feed_only(client: httpx.AsyncClient, alice: Headers) -> None:
    token = alice["Authorization"].removeprefix("Bearer ")

    r = await client.get(f"{API}/connections?access_token={token}")

    assert r.status_code == 401


async def test_a_stranger_cannot_open_the_feed(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, bob: Headers) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()["id"]

    stranger = await client.get(f"{API}/connections/{cid}/events", headers=bob)
    anonymous = await client.get(f"{API}/connections/{cid}/events")

    assert stranger.status_code == 404 and anonymous.status_code == 401
    assert gw.live.watching(cid) == 0


async def test_a_slow_client_loses_its_oldest_events_not_the_newest() -> None:
    hub = LiveHub(queue_size=2)
    async with hub.subscribe("c") as queue:
        for n in range(5):
            hub.dispatch(LiveEvent("progress", "c", f"p{n}", data={"n": n}))

        assert [queue.get_nowait().event_id for _ in range(queue.qsize())] == ["p3", "p4"]
    assert hub.watching("c") == 0


def test_parse_reads_bus_events_and_progress_and_refuses_the_rest() -> None:
    started = TestStarted(test_id="t", connection_id="c1", user_id="u", exchange="mexc")

    event = parse(subjects.TEST_STARTED, started.model_dump_json().encode(), "x")
    progress = parse(subjects.progress_subject("c1", "read_balance"), b'{"status": "ok"}', "p1")

    assert event is not None and (event.kind, event.connection_id, event.event_id) == ("test-started", "c1", started.message_id)
    assert progress is not None and (progress.kind, progress.connection_id, progress.data) == ("progress", "c1", {"status": "ok"})
    assert parse(subjects.TEST_STARTED, b'{"not": "a test event"}', "x") is None
    assert parse("bf.progress.c1.step", b"[1, 2]", "x") is None
    assert parse("bf.progress.c1.step", b"{" + b" " * 9000 + b"}", "x") is None
    assert parse(subjects.CONNECTION_ADDED, b"{}", "x") is None
