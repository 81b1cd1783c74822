"""Wiring: one aiohttp application per exchange, each on its own port, in one process.

MEXC and KuCoin use overlapping paths (``/api/v1/...``), so each gets its own origin.
:class:`SimServer` runs both, in-process for tests or from ``python -m bf_sim``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from bf_sim import admin, kucoin, mexc
from bf_sim.clock import Clock, SystemClock
from bf_sim.config import SimConfig, demo_config
from bf_sim.ratelimit import FixedWindowLimiter
from bf_sim.routing import (
    LIMITER_KEY,
    STATE_KEY,
    VENUE_FOR_PATH_KEY,
    Endpoint,
    Venue,
    endpoint_handler,
    exchange_middleware,
)
from bf_sim.state import ExchangeState

log = logging.getLogger("bf_sim")


def build_exchange_app(
    state: ExchangeState, endpoints: list[Endpoint], venue_for_path: Callable[[str], Venue], clock: Clock
) -> web.Application:
    """An aiohttp app serving ``endpoints`` plus ``/healthz`` and the ``/__sim`` admin API."""
    app = web.Application(middlewares=[exchange_middleware])
    app[STATE_KEY] = state
    app[LIMITER_KEY] = FixedWindowLimiter(clock)
    app[VENUE_FOR_PATH_KEY] = venue_for_path
    admin.setup(app)
    for ep in endpoints:
        app.router.add_route(ep.method, ep.path, endpoint_handler(ep))
    return app


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class SimServer:
    """Both simulated exchanges. ``async with SimServer(config) as sim: sim.mexc_url``.

    Ports 0 pick free ports. ``tick_interval_s`` advances prices on a timer (off by default:
    tests step them with ``POST /__sim/advance``).
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        mexc_port: int = 0,
        kucoin_port: int = 0,
        clock: Clock | None = None,
        tick_interval_s: float | None = None,
    ) -> None:
        self.config = config if config is not None else demo_config()
        self.host = host
        self.clock = clock or SystemClock()
        self.tick_interval_s = tick_interval_s
        self.mexc = ExchangeState("mexc", self.config.mexc, self.clock, self.config.seed, mexc.make_engine)
        self.kucoin = ExchangeState("kucoin", self.config.kucoin, self.clock, self.config.seed, kucoin.make_engine)
        self._ports = {"mexc": mexc_port, "kucoin": kucoin_port}
        self._bound: dict[str, int] = {}
        self._runners: list[web.AppRunner] = []
        self._ticker: asyncio.Task[None] | None = None

    def _url(self, name: str) -> str:
        if name not in self._bound:
            raise RuntimeError("SimServer is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._bound[name]}"

    @property
    def mexc_url(self) -> str:
        """The MEXC origin, e.g. ``http://127.0.0.1:9101``."""
        return self._url("mexc")

    @property
    def kucoin_url(self) -> str:
        """The KuCoin origin (spot and futures)."""
        return self._url("kucoin")

    def states(self) -> dict[str, ExchangeState]:
        """Both exchanges' states by name."""
        return {"mexc": self.mexc, "kucoin": self.kucoin}

    async def start(self) -> None:
        """Bind both ports and start serving."""
        apps = {
            "mexc": build_exchange_app(self.mexc, mexc.endpoints(), mexc.venue_for_path, self.clock),
            "kucoin": build_exchange_app(self.kucoin, kucoin.endpoints(), kucoin.venue_for_path, self.clock),
        }
        try:
            for name, app in apps.items():
                runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
                await runner.setup()
                self._runners.append(runner)
                sock = _bind(self.host, self._ports[name])
                self._bound[name] = sock.getsockname()[1]
                await web.SockSite(runner, sock).start()
                log.info("%s simulator listening on %s", name, self._url(name))
        except BaseException:
            await self.stop()
            raise
        if self.tick_interval_s:
            self._ticker = asyncio.create_task(self._tick(self.tick_interval_s))

    async def _tick(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            for state in self.states().values():
                state.advance(1)

    async def stop(self) -> None:
        """Release held requests and close both servers."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for state in self.states().values():
            state.closing = True
            state.release_hung()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        self._bound.clear()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
