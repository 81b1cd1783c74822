"""Fixtures of the gateway's unit tests: the whole app over in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bf_gateway.bootstrap import create_app
from bf_gateway.testing import InMemoryGateway

API = "/api/v1"
PASSWORD = "correct horse battery"
MEXC_KEY = "mx0vglTESTKEY0001abcd"
SECRET = "CANARY-SECRET-5f1d2c3b4a"
PASSPHRASE = "CANARY-PASS-77aa"

Headers = dict[str, str]


def mexc_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exchange": "mexc",
        "name": "Main MEXC",
        "api_key": MEXC_KEY,
        "secret": SECRET,
        "markets": ["spot", "futures"],
    }
    body.update(overrides)
    return body


def kucoin_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exchange": "kucoin",
        "name": "KuCoin spot",
        "api_key": "kc-key-0123456789",
        "secret": SECRET,
        "passphrase": PASSPHRASE,
        "markets": ["spot"],
    }
    body.update(overrides)
    return body


@pytest.fixture
def gw() -> InMemoryGateway:
    return InMemoryGateway()


@pytest_asyncio.fixture
async def client(gw: InMemoryGateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(gw.deps), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


@pytest.fixture
def signup(client: httpx.AsyncClient) -> Callable[[str], Awaitable[Headers]]:
    """Register and log in a user; returns the Authorization header."""

    async def make(email: str = "trader@example.com") -> Headers:
        r = await client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest_asyncio.fixture
async def alice(signup: Callable[[str], Awaitable[Headers]]) -> Headers:
    return await signup("alice@example.com")


@pytest_asyncio.fixture
async def bob(signup: Callable[[str], Awaitable[Headers]]) -> Headers:
    return await signup("bob@example.com")


def nothing_about_connections_stored(gw: InMemoryGateway) -> bool:
    """No secret version, no view, no fingerprint, nothing published."""
    return not gw.vault.versions and not gw.connections_kv.data and not gw.fingerprints_kv.data and not gw.publisher.published
