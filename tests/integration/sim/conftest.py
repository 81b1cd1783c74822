"""Fixtures: the simulator in-process on free ports, and unmodified ccxt pointed at it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest

from bf_sim import SimServer, demo_config
from bf_sim.ccxt_urls import override_urls
from bf_sim.config import KeyConfig, SimConfig


@pytest.fixture
def demo() -> SimConfig:
    return demo_config()


@pytest.fixture
def demo_key(demo: SimConfig) -> Callable[[str], KeyConfig]:
    """A demo key by label, e.g. ``demo_key("mexc-trade-ip")``."""
    keys = {k.label: k for k in (*demo.mexc.keys, *demo.kucoin.keys)}
    return lambda label: keys[label]


@pytest.fixture
async def sim(demo: SimConfig) -> AsyncIterator[SimServer]:
    async with SimServer(demo) as server:
        yield server


ClientFactory = Callable[..., Any]


@pytest.fixture
async def client(sim: SimServer, demo_key: Callable[[str], KeyConfig]) -> AsyncIterator[ClientFactory]:
    """``client("mexc" | "kucoin" | "kucoinfutures", label, secret=..., password=..., timeout=...)``."""
    made: list[Any] = []

    def make(
        exchange_id: str,
        label: str | None = None,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        password: str | None = None,
        timeout: int = 10_000,
    ) -> Any:
        key = demo_key(label) if label else None
        config: dict[str, Any] = {"enableRateLimit": False, "timeout": timeout}
        if key is not None:
            config["apiKey"] = api_key or key.api_key
            config["secret"] = secret or key.secret.get_secret_value()
            if key.passphrase is not None:
                config["password"] = password or key.passphrase.get_secret_value()
        ex = getattr(ccxt_async, exchange_id)(config)
        override_urls(ex, sim.mexc_url if exchange_id == "mexc" else sim.kucoin_url)
        made.append(ex)
        return ex

    yield make
    await asyncio.gather(*(ex.close() for ex in made))


def exchange_code(exc: BaseException) -> str:
    """The exchange's own error code from a ccxt exception (ccxt puts the body after the id)."""
    body = str(exc).split(" ", 1)[1]
    return str(json.loads(body)["code"])


@pytest.fixture
def code_of() -> Callable[[BaseException], str]:
    return exchange_code


class Admin:
    """The simulator's admin API on one exchange port."""

    def __init__(self, session: aiohttp.ClientSession, origin: str) -> None:
        self.session = session
        self.origin = origin

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, self.origin + path, json=body) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text else None)

    async def conditions(self, **fields: Any) -> Any:
        status, data = await self.call("PATCH", "/__sim/conditions", fields)
        assert status == 200, data
        return data

    async def requests(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        status, data = await self.call("GET", f"/__sim/requests?{query}")
        assert status == 200, data
        return list(data["requests"])


@pytest.fixture
async def admin(sim: SimServer) -> AsyncIterator[Callable[[str], Admin]]:
    """``admin("mexc")`` / ``admin("kucoin")``."""
    async with aiohttp.ClientSession() as session:
        yield lambda name: Admin(session, sim.mexc_url if name == "mexc" else sim.kucoin_url)
