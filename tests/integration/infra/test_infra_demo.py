"""The demo user the launcher registers, and the demo keys it prints."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bf_launch import demo


class FakeGateway(BaseHTTPRequestHandler):
    """Answers register/login like the gateway's contract; remembers one user."""

    users: dict[str, str] = {}

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/v1/auth/register":
            status = 409 if body["email"] in self.users else 201
            self.users.setdefault(body["email"], body["password"])
            self._reply(status, {})
        elif self.path == "/api/v1/auth/login":
            ok = self.users.get(body["email"]) == body["password"]
            self._reply(200 if ok else 401, {"access_token": "t", "token_type": "bearer"} if ok else {})
        else:
            self._reply(404, {})

    def _reply(self, status: int, payload: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def gateway_api() -> Iterator[str]:
    FakeGateway.users = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGateway)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_demo_user_is_registered_once_and_the_login_is_verified(gateway_api: str) -> None:
    first = demo.ensure_demo_user(gateway_api, "demo@backfuture.dev", "Demo-pass-1")
    again = demo.ensure_demo_user(gateway_api, "demo@backfuture.dev", "Demo-pass-1")  # a re-run: 409 is fine
    assert (first.registered, first.login_ok) == (True, True)
    assert (again.registered, again.login_ok) == (False, True)


def test_a_changed_demo_password_is_reported_not_hidden(gateway_api: str) -> None:
    demo.ensure_demo_user(gateway_api, "demo@backfuture.dev", "Demo-pass-1")
    result = demo.ensure_demo_user(gateway_api, "demo@backfuture.dev", "Demo-pass-2")
    assert not result.login_ok and "HTTP 401" in result.problem


def test_an_unreachable_gateway_is_a_problem_not_a_crash() -> None:
    result = demo.ensure_demo_user("http://127.0.0.1:9/api/v1", "demo@backfuture.dev", "x")
    assert not result.login_ok and "unreachable" in result.problem


def test_the_demo_password_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "demo_password"
    password = demo.demo_password(path)
    assert demo.demo_password(path) == password
    assert len(password) >= 16 and any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_demo_keys_render_one_line_per_key_and_unknown_shapes_still_render() -> None:
    keys = {"comment": "x", "kucoin": {"keys": [{"label": "k-trade", "api_key": "AK1", "secret": "S1", "passphrase": "P1"}]}}
    lines = demo.render_keys(keys)
    assert any("k-trade" in line and "AK1" in line and "S1" in line and "P1" in line for line in lines)
    assert demo.render_keys(["a", {"b": 1}]) == ["    - a", "", "    b: 1"]
