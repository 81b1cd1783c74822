"""GET/PUT /api/v1/notifications and GET /api/v1/audit on the gateway app over in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from bf_shared.audit import AuditKind, AuditRecord
from bf_shared.notifications import NotificationSettings

from bf_gateway.adapters.memory import InMemoryKv
from bf_gateway.audit.reader import MemoryAuditReader
from bf_gateway.bootstrap import create_app
from bf_gateway.notifications.bus import OpsRouteDeps
from bf_gateway.testing import InMemoryGateway

API = "/api/v1"
PASSWORD = "correct horse battery"


class Env:
    def __init__(self, allow_private: bool = False) -> None:
        self.kv = InMemoryKv()
        self.audit = MemoryAuditReader()
        self.gw = InMemoryGateway()
        self.app = create_app(self.gw.deps)
        self.app.state.ops_routes = OpsRouteDeps(self.kv, self.audit, allow_private)


@pytest.fixture
def env() -> Env:
    return Env()


@pytest_asyncio.fixture
async def client(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=env.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


async def signup(client: httpx.AsyncClient, email: str) -> tuple[dict[str, str], None]:
    assert (await client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
    r = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}, None


async def test_defaults_before_anything_is_saved(client: httpx.AsyncClient) -> None:
    headers, _ = await signup(client, "a@example.com")
    r = await client.get(f"{API}/notifications", headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert body["webhook_url"] is None and body["webhook_secret_masked"] is None
    assert set(body["enabled_rules"]) == set(body["available_rules"]) and "withdraw_enabled" in body["enabled_rules"]


async def test_the_generated_secret_is_shown_once_then_only_masked(client: httpx.AsyncClient, env: Env) -> None:
    headers, _ = await signup(client, "a@example.com")
    r = await client.put(f"{API}/notifications", headers=headers,
                         json={"webhook_url": "https://hooks.example.com/bf", "enabled_rules": ["withdraw_enabled", "connection_offline"]})
    assert r.status_code == 200, r.text
    secret = r.json()["webhook_secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert r.json()["webhook_secret_masked"] == f"whsec_…{secret[-4:]}"
    (stored,) = env.kv.data.values()
    saved = NotificationSettings.from_kv(stored.value)
    assert saved.webhook_secret is not None and saved.webhook_secret.get_secret_value() == secret
    again = await client.get(f"{API}/notifications", headers=headers)
    assert secret not in again.text and again.json()["enabled_rules"] == ["withdraw_enabled", "connection_offline"]
    # Saving again keeps the secret (the receiver keeps working) and does not show it.
    r = await client.put(f"{API}/notifications", headers=headers, json={"webhook_url": "https://hooks.example.com/v2"})
    assert r.json()["webhook_secret"] is None and r.json()["webhook_secret_masked"].endswith(secret[-4:])
    rotated = await client.put(f"{API}/notifications", headers=headers,
                               json={"webhook_url": "https://hooks.example.com/v2", "rotate_secret": True})
    assert rotated.json()["webhook_secret"] not in (None, secret)


async def test_a_users_own_secret_is_accepted_but_never_echoed(client: httpx.AsyncClient) -> None:
    headers, _ = await signup(client, "a@example.com")
    own = "my-own-signing-secret-0123456789-abcdef"
    r = await client.put(f"{API}/notifications", headers=headers,
                         json={"webhook_url": "https://hooks.example.com/bf", "webhook_secret": own})
    assert r.status_code == 200 and own not in r.text and r.json()["webhook_secret"] is None
    short = await client.put(f"{API}/notifications", headers=headers,
                             json={"webhook_url": "https://hooks.example.com/bf", "webhook_secret": "short-secret-xyz"})
    assert short.status_code == 422 and "short-secret-xyz" not in short.text


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.0.0.5/x", "https://localhost/x",
     "https://user:pw@hooks.example.com/x", "ftp://hooks.example.com", "https://169.254.169.254/latest"],
)
async def test_webhook_urls_must_be_public_https(client: httpx.AsyncClient, url: str) -> None:
    headers, _ = await signup(client, "a@example.com")
    r = await client.put(f"{API}/notifications", headers=headers, json={"webhook_url": url})
    assert r.status_code == 422, url
    assert r.json()["error"]["fields"][0]["field"] == "webhook_url"


async def test_unknown_rules_and_fields_are_rejected(client: httpx.AsyncClient) -> None:
    headers, _ = await signup(client, "a@example.com")
    assert (await client.put(f"{API}/notifications", headers=headers, json={"enabled_rules": ["nope"]})).status_code == 422
    assert (await client.put(f"{API}/notifications", headers=headers, json={"colour": "red"})).status_code == 422


async def test_settings_are_per_user_and_need_a_token(client: httpx.AsyncClient) -> None:
    alice, _ = await signup(client, "alice@example.com")
    bob, _ = await signup(client, "bob@example.com")
    await client.put(f"{API}/notifications", headers=alice, json={"webhook_url": "https://alice.example.com/h"})
    assert (await client.get(f"{API}/notifications", headers=bob)).json()["webhook_url"] is None
    assert (await client.get(f"{API}/notifications")).status_code == 401
    assert (await client.get(f"{API}/audit")).status_code == 401


def record(user: str, n: int, kind: AuditKind = AuditKind.CONNECTION_ADDED) -> AuditRecord:
    return AuditRecord(record_id=f"r{n}", user_id=user, kind=kind, actor="user",
                       occurred_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
                       source_subject="bf.evt.connection.added", connection_id="c1", summary=f"change {n}")


async def test_audit_pages_newest_first_and_only_the_callers_records(client: httpx.AsyncClient, env: Env) -> None:
    alice, _ = await signup(client, "alice@example.com")
    bob, _ = await signup(client, "bob@example.com")
    me = (await client.put(f"{API}/notifications", headers=alice, json={})).status_code
    assert me == 200
    (alice_id,) = [NotificationSettings.from_kv(e.value).user_id for e in env.kv.data.values()]
    for n in range(1, 6):
        env.audit.add(record(alice_id, n))
        env.audit.add(record("someone-else", 100 + n))
    env.audit.add(record(alice_id, 3))  # a repeated projection: shown once
    first = (await client.get(f"{API}/audit", headers=alice, params={"limit": 2})).json()
    assert [i["record_id"] for i in first["items"]] == ["r5", "r4"]
    second = (await client.get(f"{API}/audit", headers=alice, params={"limit": 2, "before": first["next_before"]})).json()
    assert [i["record_id"] for i in second["items"]] == ["r3", "r2"]
    last = (await client.get(f"{API}/audit", headers=alice, params={"limit": 2, "before": second["next_before"]})).json()
    assert [i["record_id"] for i in last["items"]] == ["r1"] and last["next_before"] is None
    assert (await client.get(f"{API}/audit", headers=bob)).json()["items"] == []
    assert (await client.get(f"{API}/audit", headers=alice, params={"limit": 500})).status_code == 422


async def test_development_setting_allows_loopback_webhooks() -> None:
    env = Env(allow_private=True)
    transport = httpx.ASGITransport(app=env.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        headers, _ = await signup(c, "dev@example.com")
        r = await c.put(f"{API}/notifications", headers=headers, json={"webhook_url": "http://127.0.0.1:9999/hook"})
        assert r.status_code == 200
