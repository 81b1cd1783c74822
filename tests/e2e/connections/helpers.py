"""Helpers of the connection e2e tests: the HTTP API as a user sees it, the simulator's admin
API, and a recorder of everything that crossed the bus or an HTTP boundary."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
from nats.aio.msg import Msg

from bf_launch.stack import Stack

PASSWORD = "correct horse battery staple"

#: The seven checks of every test result, in the order the API lists them.
CHECK_NAMES = ["exchange_status", "api_key", "read", "trade", "withdraw_disabled", "futures", "ip_whitelist"]


class Recorder:
    """Everything that crossed an HTTP boundary or the bus during the test."""

    def __init__(self) -> None:
        self.http: list[str] = []
        self.bus: list[bytes] = []

    async def on_msg(self, msg: Msg) -> None:
        self.bus.append(msg.subject.encode() + b" " + bytes(msg.data) + repr(msg.headers).encode())


class Api:
    """The gateway's ``/api/v1`` as one logged-in user (the token is set by :meth:`login`)."""

    def __init__(self, client: httpx.AsyncClient, recorder: Recorder | None = None, token: str = "") -> None:
        self.client = client
        self.recorder = recorder
        self.token = token

    async def call(self, method: str, path: str, *, lang: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if lang is not None:
            headers["Accept-Language"] = lang
        r = await self.client.request(method, path, headers=headers, **kw)
        if self.recorder is not None:
            self.recorder.http.append(r.text + json.dumps(dict(r.headers)))
        return r

    async def login(self, email: str) -> None:
        assert (await self.call("POST", "/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
        r = await self.call("POST", "/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]

    async def get(self, connection_id: str, *, lang: str | None = None) -> dict[str, Any]:
        r = await self.call("GET", f"/connections/{connection_id}", lang=lang)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def wait_for(
        self,
        connection_id: str,
        until: Callable[[dict[str, Any]], bool],
        what: str,
        timeout_s: float = 30,
        poll_s: float = 0.1,
    ) -> dict[str, Any]:
        """Poll the connection until ``until(view)`` holds; fail with the last view seen."""
        deadline = time.monotonic() + timeout_s
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = await self.get(connection_id)
            if until(body):
                return body
            await asyncio.sleep(poll_s)
        raise AssertionError(f"connection never reached {what} within {timeout_s:g} s: {json.dumps(body, indent=1)}")

    async def wait_status(self, connection_id: str, wanted: set[str], timeout_s: float = 45) -> dict[str, Any]:
        """Wait until the status is one of ``wanted`` and a test result is shown."""
        return await self.wait_for(
            connection_id,
            lambda b: b["status"] in wanted and bool(b.get("last_test")),
            f"a status in {sorted(wanted)}",
            timeout_s,
            poll_s=0.2,
        )


async def sim_key(stack: Stack, exchange: str, body: dict[str, Any]) -> None:
    """Create a key in the simulator (201 expected)."""
    async with httpx.AsyncClient(base_url=stack.sim_urls[exchange], timeout=10) as sim:
        r = await sim.post("/__sim/keys", json=body)
        assert r.status_code == 201, r.text


class SimControl:
    """The simulator's admin API (``/__sim``) for the exchanges of one stack."""

    def __init__(self, stack: Stack) -> None:
        self.urls = stack.sim_urls

    async def _call(self, exchange: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(base_url=self.urls[exchange], timeout=10) as sim:
            r = await sim.request(method, path, json=body)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def new_key(
        self,
        exchange: str,
        permissions: list[str],
        *,
        ip_whitelist: tuple[str, ...] = ("127.0.0.1",),
        **config: Any,
    ) -> dict[str, str]:
        """A fresh key (unique values, so no test sees another's); returns its credentials.

        KuCoin keys get a passphrase. Extra ``config`` fields (``expires_in_days``,
        ``conditions``...) go to the simulator as they are.
        """
        creds = {"api_key": f"e2e{exchange[:2]}{secrets.token_hex(8)}", "secret": f"canary{secrets.token_hex(16)}"}
        if exchange == "kucoin":
            creds["passphrase"] = f"pp{secrets.token_hex(6)}"
        body = {**creds, "label": "e2e", "permissions": permissions, "ip_whitelist": list(ip_whitelist), **config}
        await self._call(exchange, "POST", "/__sim/keys", body)
        return creds

    async def patch_key(self, exchange: str, api_key: str, **fields: Any) -> None:
        """Change some of a key's fields (``conditions`` merge field by field)."""
        await self._call(exchange, "PATCH", f"/__sim/keys/{api_key}", fields)

    async def revoke(self, exchange: str, api_key: str) -> None:
        """Delete the key on the exchange: later calls get the unknown-key error."""
        await self._call(exchange, "DELETE", f"/__sim/keys/{api_key}")

    async def conditions(self, exchange: str, **fields: Any) -> None:
        """Change exchange-wide conditions (``{}`` via :meth:`clear_conditions`)."""
        await self._call(exchange, "PATCH", "/__sim/conditions", fields)

    async def clear_conditions(self, exchange: str) -> None:
        """Every exchange-wide condition off."""
        await self._call(exchange, "PUT", "/__sim/conditions", {})

    async def settings(self, exchange: str, **switches: Any) -> None:
        """Change exchange switches such as ``api_key_info_supported``."""
        await self._call(exchange, "PATCH", "/__sim/settings", switches)

    async def requests(self, exchange: str, **query: str) -> list[dict[str, Any]]:
        """The simulator's request log, filtered (``api_key=``, ``path=``...)."""
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return list((await self._call(exchange, "GET", f"/__sim/requests?{qs}"))["requests"])
