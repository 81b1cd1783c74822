"""The operations endpoint every service exposes: ``/healthz`` and ``/metrics``.

The gateway serves these on its own HTTP app; the other services run this tiny aiohttp
server on ``BACKFUTURE_OPS_PORT``. ``/healthz`` answers 200 only when the readiness
callback says the service is connected to what it needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

Ready = Callable[[], Awaitable[bool]]


class OpsServer:
    """Health and metrics over HTTP; start in the service's lifespan, stop on shutdown."""

    def __init__(self, host: str, port: int, ready: Ready, registry: CollectorRegistry = REGISTRY) -> None:
        self.host = host
        self.port = port
        self._ready = ready
        self._registry = registry
        self._runner: web.AppRunner | None = None

    async def _healthz(self, _: web.Request) -> web.Response:
        ok = await self._ready()
        return web.json_response({"status": "ok" if ok else "starting"}, status=200 if ok else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> int:
        """Start listening; returns the bound port."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            # The bound port of "port 0" is only known from the listening socket.
            sockets = getattr(site._server, "sockets", None) or ()
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
