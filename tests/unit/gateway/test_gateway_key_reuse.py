"""The key-reuse warning is on every connection that shares a key, and follows who shares it."""

from __future__ import annotations

from typing import Any

import httpx

from bf_shared.messages import Permissions, TestPassed, TestResult, TestWarning

from bf_gateway.handlers.projector import project
from bf_gateway.testing import InMemoryGateway

from tests.unit.gateway.conftest import API, Headers, mexc_body

OTHER_KEY = "mx0vglOTHERKEY0002wxyz"


async def add(client: httpx.AsyncClient, headers: Headers, **overrides: Any) -> str:
    r = await client.post(f"{API}/connections", headers=headers, json=mexc_body(**overrides))
    assert r.status_code == 201, r.text
    connection_id: str = r.json()["id"]
    return connection_id


async def warnings_of(client: httpx.AsyncClient, headers: Headers, connection_id: str) -> list[str]:
    r = await client.get(f"{API}/connections/{connection_id}", headers=headers)
    assert r.status_code == 200, r.text
    return [w["code"] for w in r.json()["warnings"]]


async def test_the_older_connection_is_warned_too_when_a_second_one_uses_its_key(
    client: httpx.AsyncClient, alice: Headers
) -> None:
    first = await add(client, alice, name="One")
    assert await warnings_of(client, alice, first) == []

    second = await add(client, alice, name="Two")

    assert await warnings_of(client, alice, first) == ["key_reused"]
    assert await warnings_of(client, alice, second) == ["key_reused"]


async def test_deleting_one_of_two_connections_clears_the_other_ones_warning(
    client: httpx.AsyncClient, alice: Headers
) -> None:
    first = await add(client, alice, name="One")
    second = await add(client, alice, name="Two")

    assert (await client.delete(f"{API}/connections/{second}", headers=alice)).status_code == 204

    assert await warnings_of(client, alice, first) == []


async def test_across_users_both_sides_only_learn_it_is_connected_elsewhere(
    client: httpx.AsyncClient, alice: Headers, bob: Headers
) -> None:
    alices = await add(client, alice)
    bobs = await add(client, bob)

    assert await warnings_of(client, alice, alices) == ["key_reused_elsewhere"]
    assert await warnings_of(client, bob, bobs) == ["key_reused_elsewhere"]


async def test_rotating_away_from_a_shared_key_clears_both_and_onto_one_flags_both(
    client: httpx.AsyncClient, alice: Headers
) -> None:
    first = await add(client, alice, name="One")
    second = await add(client, alice, name="Two")

    r = await client.put(
        f"{API}/connections/{second}/credentials", headers=alice, json={"api_key": OTHER_KEY, "secret": "s" * 20}
    )
    assert r.status_code == 200, r.text
    assert await warnings_of(client, alice, first) == []
    assert await warnings_of(client, alice, second) == []

    r = await client.put(
        f"{API}/connections/{first}/credentials", headers=alice, json={"api_key": OTHER_KEY, "secret": "s" * 20}
    )
    assert r.status_code == 200, r.text
    assert await warnings_of(client, alice, first) == ["key_reused"]
    assert await warnings_of(client, alice, second) == ["key_reused"]


async def test_a_reuse_warning_of_an_old_test_result_gives_way_to_the_current_flag(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    first = await add(client, alice, name="One")
    second = await add(client, alice, name="Two")
    view = (await client.get(f"{API}/connections/{first}", headers=alice)).json()
    now = gw.clock()
    # The test ran while the key was shared; the other connection has gone since.
    result = TestResult(
        test_id=view["current_test"]["test_id"],
        status="passed",
        started_at=now,
        finished_at=now,
        checks=(),
        permissions=Permissions(read=True, trade=True, withdraw=False, futures=None),
        ip_restricted=True,
        error=None,
        warnings=(TestWarning(code="key_reused", message="shared"),),
    )
    me = (await client.get(f"{API}/me", headers=alice)).json()["id"]
    event = TestPassed(connection_id=first, user_id=me, exchange="mexc", result=result)
    assert await project(event, gw.deps.projector) == "applied"
    assert (await client.delete(f"{API}/connections/{second}", headers=alice)).status_code == 204

    body = (await client.get(f"{API}/connections/{first}", headers=alice)).json()
    assert [w["code"] for w in body["last_test"]["warnings"]] == ["key_reused"], "the result itself is history"
    assert body["warnings"] == []


async def test_a_failed_reuse_refresh_does_not_fail_the_delete(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    first = await add(client, alice, name="One")
    second = await add(client, alice, name="Two")
    gw.fingerprints_kv.fail_reads = True

    r = await client.delete(f"{API}/connections/{second}", headers=alice)

    assert r.status_code == 204
    gw.fingerprints_kv.fail_reads = False
    assert (await client.get(f"{API}/connections/{second}", headers=alice)).status_code == 404
    assert await warnings_of(client, alice, first) == ["key_reused"], "stale for a while, never a lost delete"
