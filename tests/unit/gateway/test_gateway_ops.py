"""/healthz follows readiness; /metrics labels routes by template, never by id."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from bf_gateway.bootstrap import GatewaySettings, create_app
from bf_gateway.testing import InMemoryGateway

from .conftest import API, Headers, mexc_body


async def test_healthz_is_200_when_ready_and_503_otherwise(gw: InMemoryGateway) -> None:
    ready = {"value": False}

    async def readiness() -> bool:
        return ready["value"]

    app = create_app(dataclasses.replace(gw.deps, ready=readiness))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        starting = await c.get("/healthz")
        ready["value"] = True
        ok = await c.get("/healthz")

    assert (starting.status_code, starting.json()) == (503, {"status": "starting"})
    assert (ok.status_code, ok.json()) == (200, {"status": "ok"})


async def test_metrics_use_route_templates_without_ids_or_tokens(client: httpx.AsyncClient, alice: Headers) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()["id"]
    await client.get(f"{API}/connections/{cid}", headers=alice)
    await client.get(f"{API}/connections/{'0' * 32}", headers=alice)
    await client.get("/no/such/page")

    text = (await client.get("/metrics")).text

    assert 'bf_gateway_http_requests_total{method="GET",route="/api/v1/connections/{connection_id}",status="200"} 1.0' in text
    assert 'route="/api/v1/connections/{connection_id}",status="404"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "bf_gateway_http_request_seconds_bucket" in text
    assert 'bf_gateway_logins_total{outcome="ok"} 1.0' in text
    assert cid not in text and alice["Authorization"][7:] not in text and "0" * 32 not in text


async def test_unknown_routes_and_methods_get_the_json_error_body(client: httpx.AsyncClient, alice: Headers) -> None:
    missing = await client.get(f"{API}/nothing-here", headers=alice)
    wrong_method = await client.put(f"{API}/connections", headers=alice)

    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_settings_refuse_a_weak_or_missing_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        GatewaySettings(jwt_secret=SecretStr("short"))
    with pytest.raises(ValidationError, match="at least 32 characters"):
        GatewaySettings(jwt_secret=SecretStr(""))
    assert GatewaySettings(jwt_secret=SecretStr("x" * 32)).jwt_secret.get_secret_value() == "x" * 32
