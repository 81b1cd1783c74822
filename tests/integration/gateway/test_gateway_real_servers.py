"""The gateway against a real nats-server and a real OpenBao (session fixtures of tests/conftest.py).

The app runs in-process with its production wiring (lifespan included); requests go through
httpx's ASGI transport. Vault is read back with the connector's AppRole, the only reader.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
import pytest_asyncio
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_launch.vault_bootstrap import VaultAccess
from bf_shared import subjects
from bf_shared.messages import Permissions, TestPassed, TestResult, TestStarted
from bf_shared.vault import HvacVault, SecretNotFound, VaultForbidden

from bf_gateway.bootstrap import GatewaySettings, create_app

API = "/api/v1"
PASSWORD = "correct horse battery"
SECRET = "INTEGRATION-CANARY-SECRET-7c1e"
API_KEY = "mx0vglINTEGRATION00key42"


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]
    user_id: str


@pytest_asyncio.fixture
async def gateway(nats_server: str, vault_server: VaultAccess) -> AsyncIterator[Gateway]:
    settings = GatewaySettings(nats_url=nats_server, jwt_secret=SecretStr("integration-jwt-secret-" + "x" * 16), egress_ips="198.51.100.7")
    app = create_app(settings=settings, vault_settings=vault_server.settings("gateway"), registry=CollectorRegistry())
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://gateway.test"))
        for _ in range(100):  # Vault login runs in the background
            if (await client.get("/healthz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert (await client.get("/healthz")).status_code == 200
        email = f"it-{uuid.uuid4().hex[:12]}@example.com"
        user = (await client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})).json()
        token = (await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})).json()["access_token"]
        yield Gateway(app, client, {"Authorization": f"Bearer {token}"}, user["id"])


async def _messages(nc: NatsClient, stream: str, subject: str) -> list[bytes]:
    """Every stored message of ``subject`` (an ephemeral consumer reading from the start)."""
    js = nc.jetstream()
    sub = await js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    out: list[bytes] = []
    try:
        while True:
            batch = await sub.fetch(100, timeout=1)
            out += [m.data for m in batch]
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return out


async def _add(gw: Gateway, **overrides: Any) -> dict[str, Any]:
    body = {"exchange": "mexc", "name": "Main", "api_key": API_KEY, "secret": SECRET, "markets": ["spot"], **overrides}
    r = await gw.client.post(f"{API}/connections", headers=gw.headers, json=body)
    assert r.status_code == 201, r.text
    view: dict[str, Any] = r.json()
    return view


async def test_the_secret_lands_in_vault_only_and_is_destroyed_with_the_connection(
    gateway: Gateway, vault_server: VaultAccess, nats_connection: NatsClient
) -> None:
    view = await _add(gateway)
    cid = view["id"]
    connector = HvacVault(vault_server.settings("connector"))
    gateway_role = HvacVault(vault_server.settings("gateway"))

    stored = await connector.read(cid)
    assert stored.secret.get_secret_value() == SECRET and stored.api_key.get_secret_value() == API_KEY
    with pytest.raises(VaultForbidden):
        await gateway_role.read(cid)

    kv = await nats_connection.jetstream().key_value(subjects.KV_CONNECTIONS)
    entry = await kv.get(f"{gateway.user_id}.{cid}")
    assert entry.value is not None and cid.encode() in entry.value
    assert SECRET.encode() not in entry.value and API_KEY.encode() not in entry.value

    added = [m for m in await _messages(nats_connection, subjects.EVENTS_STREAM, subjects.CONNECTION_ADDED) if cid.encode() in m]
    requested = [m for m in await _messages(nats_connection, subjects.COMMANDS_STREAM, subjects.TEST_REQUESTED) if cid.encode() in m]
    assert len(added) == 1 and len(requested) == 1
    for data in added + requested:
        assert SECRET.encode() not in data and API_KEY.encode() not in data

    r = await gateway.client.delete(f"{API}/connections/{cid}", headers=gateway.headers)

    assert r.status_code == 204
    with pytest.raises(SecretNotFound):
        await connector.read(cid)
    assert (await gateway.client.get(f"{API}/connections/{cid}", headers=gateway.headers)).status_code == 404
    deleted = [m for m in await _messages(nats_connection, subjects.EVENTS_STREAM, subjects.CONNECTION_DELETED) if cid.encode() in m]
    assert len(deleted) == 1


async def test_rotation_writes_a_new_version_readable_by_the_connector_and_destroys_the_old(
    gateway: Gateway, vault_server: VaultAccess
) -> None:
    cid = (await _add(gateway, name="Rotating"))["id"]
    connector = HvacVault(vault_server.settings("connector"))

    r = await gateway.client.put(
        f"{API}/connections/{cid}/credentials", headers=gateway.headers, json={"api_key": "mx0vglROTATED00key9999", "secret": "ROTATED-SECRET-0001"}
    )

    assert r.status_code == 200 and r.json()["api_key_masked"] == "mx0v…9999"
    assert (await connector.read(cid)).secret.get_secret_value() == "ROTATED-SECRET-0001"
    with pytest.raises(SecretNotFound):  # the replaced key is destroyed
        await connector.read(cid, version=1)
    await gateway.client.delete(f"{API}/connections/{cid}", headers=gateway.headers)


async def test_the_same_key_twice_is_recognised_through_vault_transit(gateway: Gateway) -> None:
    key = f"mx0vgl{uuid.uuid4().hex[:16]}"  # unique to this test: other tests' keys must not count
    first = await _add(gateway, name="First", api_key=key)
    second = await _add(gateway, name="Second", api_key=key)

    assert first["warnings"] == []
    assert [w["code"] for w in second["warnings"]] == ["key_reused"]
    for view in (first, second):
        await gateway.client.delete(f"{API}/connections/{view['id']}", headers=gateway.headers)


async def test_the_projector_moves_the_view_with_the_testers_events(gateway: Gateway, nats_connection: NatsClient) -> None:
    view = await _add(gateway, name="Projected")
    cid, test_id = view["id"], view["current_test"]["test_id"]
    js = nats_connection.jetstream()
    now = datetime.now(UTC)
    result = TestResult(
        test_id=test_id, status="passed", started_at=now, finished_at=now, checks=(),
        permissions=Permissions(read=True, trade=True, withdraw=False, futures=None), ip_restricted=True, error=None,
    )
    started = TestStarted(test_id=test_id, connection_id=cid, user_id=gateway.user_id, exchange="mexc", started_at=now)
    passed = TestPassed(connection_id=cid, user_id=gateway.user_id, exchange="mexc", result=result)

    # Out of order on purpose: the verdict first, then a late start that must not reopen the test.
    await js.publish(subjects.TEST_PASSED, passed.model_dump_json().encode(), headers={"Nats-Msg-Id": passed.message_id})
    await js.publish(subjects.TEST_STARTED, started.model_dump_json().encode(), headers={"Nats-Msg-Id": started.message_id})

    body: dict[str, Any] = {}
    for _ in range(100):
        body = (await gateway.client.get(f"{API}/connections/{cid}", headers=gateway.headers)).json()
        if body["status"] == "online":
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # give the late start its chance to (wrongly) reopen the test
    body = (await gateway.client.get(f"{API}/connections/{cid}", headers=gateway.headers)).json()

    assert body["status"] == "online"
    assert body["last_test"]["test_id"] == test_id and body["last_test"]["permissions"]["withdraw"] is False
    await gateway.client.delete(f"{API}/connections/{cid}", headers=gateway.headers)


async def test_the_live_feed_relays_progress_published_on_nats(gateway: Gateway, nats_connection: NatsClient) -> None:
    cid = (await _add(gateway, name="Live"))["id"]
    deps = gateway.app.state.deps

    async with deps.live.subscribe(cid) as queue:
        # Another connection's progress first: by the time ours arrives, it would have too.
        await nats_connection.publish(subjects.progress_subject("f" * 32, "credentials"), b'{"check": "other"}')
        await nats_connection.publish(subjects.progress_subject(cid, "credentials"), b'{"check": "credentials", "status": "ok"}')
        event = await asyncio.wait_for(queue.get(), timeout=5)

    assert (event.kind, event.connection_id, event.data) == ("progress", cid, {"check": "credentials", "status": "ok"})
    assert queue.empty()
    await gateway.client.delete(f"{API}/connections/{cid}", headers=gateway.headers)
