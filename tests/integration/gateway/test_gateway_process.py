"""``python -m bf_gateway`` as the launcher runs it: env-only configuration, healthz, clean SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bf_launch.stack import Stack

SECRET = "PROCESS-CANARY-SECRET-31415"
API_KEY = "mx0vglPROCESS000key2718"


def test_the_gateway_process_serves_the_api_logs_no_secret_and_stops_cleanly(
    stack_factory: Callable[..., Stack], nats_server: str
) -> None:
    stack = stack_factory(services=["gateway"], nats_url=nats_server, egress_ips="198.51.100.9")
    api = stack.api_url
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{stack.gateway_url}/healthz").status_code == 200
        http.post(f"{api}/auth/register", json={"email": "process@example.com", "password": "correct horse battery"})
        token = http.post(f"{api}/auth/login", json={"email": "process@example.com", "password": "correct horse battery"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        added = http.post(
            f"{api}/connections",
            headers=headers,
            json={"exchange": "mexc", "name": "Process", "api_key": API_KEY, "secret": SECRET, "markets": ["spot"]},
        )
        exchanges = http.get(f"{api}/exchanges", headers=headers).json()
        # The live feed with the token in the URL (what a browser's EventSource does): its
        # access-log line must not carry the token.
        with http.stream("GET", f"{api}/connections/{added.json()['id']}/events?access_token={token}") as feed:
            first = next(line for line in feed.iter_lines() if line.startswith("event:"))
        metrics = http.get(f"{stack.gateway_url}/metrics").text

    assert added.status_code == 201, added.text
    assert first == "event: connection"
    assert exchanges["egress_ips"] == ["198.51.100.9"]
    assert "bf_gateway_http_requests_total" in metrics
    assert stack.stop_service("gateway") == 0
    logs = stack.logs_text()
    assert SECRET not in logs and API_KEY not in logs and token not in logs
