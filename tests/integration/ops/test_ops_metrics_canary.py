"""Metrics scraped from every running service after a real connection test with canary credentials.

The whole system runs (simulator, connectors, tester, alerter, runner when it exists, gateway);
a user adds a connection whose key, secret and passphrase are canaries. Then every process's
/metrics must carry its own metrics and never the canaries, the user's e-mail or id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from bf_launch.services import ALL_SERVICES, has_main

EMAIL = "canary.trader@example.com"
KEY = "kcCANARYKEY0042deadbeef"
SECRET = "CANARY-SECRET-9f8e7d6c5b4a"
PASSPHRASE = "CANARY-PASS-1a2b3c"

#: Each process and a metric it must expose once a test has run.
EXPECTED = {
    "gateway": "bf_gateway_http_requests_total",
    "tester": "bf_tester_tests_total",
    "connector-kucoin": "bf_connector_exchange_requests_total",
    "alerter": "bf_events_consumed_total",
}


async def test_every_service_exposes_its_metrics_and_no_label_carries_a_secret(stack_factory: Callable[..., Any]) -> None:
    services = [s for s in ALL_SERVICES if has_main(s)]
    assert {"sim", "connector", "tester", "alerter", "gateway"} <= set(services)
    stack = await asyncio.to_thread(stack_factory, services=services)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=20) as api:
        assert (await api.post("/auth/register", json={"email": EMAIL, "password": "correct horse battery"})).status_code == 201
        token = (await api.post("/auth/login", json={"email": EMAIL, "password": "correct horse battery"})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = await api.post("/connections", headers=headers, json={
            "exchange": "kucoin", "name": "Canary", "api_key": KEY, "secret": SECRET, "passphrase": PASSPHRASE,
            "markets": ["spot"]})
        assert created.status_code == 201, created.text
        conn = created.json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view = (await api.get(f"/connections/{conn['id']}", headers=headers)).json()
            if view.get("last_test"):
                break
            await asyncio.sleep(0.5)
        assert view.get("last_test"), "the connection test never finished"
        user_id = view.get("user_id", "")

        scraped: dict[str, str] = {}
        for name in stack.children:
            if name in ("nats", "openbao", "sim"):
                continue
            base = stack.gateway_url if name == "gateway" else stack.ops_url(name)
            response = await api.get(f"{base}/metrics")
            assert response.status_code == 200, name
            scraped[name] = response.text
    for name, metric in EXPECTED.items():
        assert metric in scraped[name], f"{name} does not expose {metric}"
    assert any("bf_events_consumed_total" in text for text in scraped.values())
    for name, text in scraped.items():
        for canary in (KEY, SECRET, PASSPHRASE, EMAIL, *([user_id] if user_id else [])):
            assert canary not in text, f"{name} exposes a canary in /metrics"
    assert SECRET not in stack.logs_text() and PASSPHRASE not in stack.logs_text()
