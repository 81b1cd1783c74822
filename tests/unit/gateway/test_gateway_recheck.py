"""A periodic re-check of an Online connection, as the trader sees it through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bf_shared import subjects
from bf_shared.messages import Permissions, TestPassed, TestReason, TestRequested, TestResult, TestStarted

from bf_gateway.handlers.projector import project
from bf_gateway.testing import InMemoryGateway

from .conftest import API, Headers, mexc_body


@dataclass(frozen=True)
class Conn:
    id: str
    user_id: str


def requests(gw: InMemoryGateway) -> list[TestRequested]:
    return [m for s, m in gw.publisher.published if s == subjects.TEST_REQUESTED and isinstance(m, TestRequested)]


async def start_test(gw: InMemoryGateway, conn: Conn, test_id: str, reason: TestReason) -> None:
    event = TestStarted(
        test_id=test_id, connection_id=conn.id, user_id=conn.user_id, exchange="mexc", started_at=gw.clock(), reason=reason
    )
    assert await project(event, gw.deps.projector) == "applied"


async def pass_test(gw: InMemoryGateway, conn: Conn, test_id: str) -> None:
    started_at = gw.clock()
    gw.clock.advance(seconds=2)
    result = TestResult(
        test_id=test_id, status="passed", started_at=started_at, finished_at=gw.clock(), checks=(),
        permissions=Permissions(read=True, trade=True, withdraw=False), ip_restricted=True, error=None,
    )
    passed = TestPassed(connection_id=conn.id, user_id=conn.user_id, exchange="mexc", result=result)
    assert await project(passed, gw.deps.projector) == "applied"


async def online_connection(client: httpx.AsyncClient, gw: InMemoryGateway, headers: Headers) -> Conn:
    """Add a connection and let its first test pass."""
    r = await client.post(f"{API}/connections", headers=headers, json=mexc_body())
    assert r.status_code == 201, r.text
    [first] = requests(gw)
    conn = Conn(id=r.json()["id"], user_id=first.user_id)
    await start_test(gw, conn, first.test_id, TestReason.ADDED)
    await pass_test(gw, conn, first.test_id)
    return conn


async def get(client: httpx.AsyncClient, headers: Headers, conn: Conn) -> dict[str, Any]:
    r = await client.get(f"{API}/connections/{conn.id}", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_an_online_connection_stays_online_while_it_is_rechecked(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    conn = await online_connection(client, gw, alice)
    gw.clock.advance(seconds=1800)  # the tester's next re-test (the login token is still valid)

    await start_test(gw, conn, "periodic1", TestReason.PERIODIC)

    view = await get(client, alice, conn)
    assert view["status"] == "online" and view["current_test"] is None
    await pass_test(gw, conn, "periodic1")
    view = await get(client, alice, conn)
    assert view["status"] == "online" and view["last_test"]["test_id"] == "periodic1"


async def test_clicking_test_during_a_recheck_requests_a_test_the_user_can_watch(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    conn = await online_connection(client, gw, alice)
    gw.clock.advance(seconds=1800)  # the tester's next re-test (the login token is still valid)
    await start_test(gw, conn, "periodic1", TestReason.PERIODIC)
    gw.clock.advance(seconds=1)  # well within the window where a pending test would be reused

    r = await client.post(f"{API}/connections/{conn.id}/test", headers=alice)

    assert r.status_code == 202
    manual = requests(gw)[-1]
    assert r.json()["test_id"] == manual.test_id != "periodic1" and manual.reason == TestReason.MANUAL
    view = await get(client, alice, conn)
    assert view["status"] == "testing" and view["current_test"]["test_id"] == manual.test_id
    # A second click is coalesced into the user's own test, as before.
    again = await client.post(f"{API}/connections/{conn.id}/test", headers=alice)
    assert again.json()["test_id"] == manual.test_id and len(requests(gw)) == 2
