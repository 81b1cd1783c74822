import aiohttp
from prometheus_client import CollectorRegistry, Counter

from bf_shared.ops import OpsServer


async def test_healthz_follows_readiness_and_metrics_are_served_on_a_free_port() -> None:
    ready = False

    async def is_ready() -> bool:
        return ready

    registry = CollectorRegistry()
    Counter("bf_demo_total", "demo", registry=registry).inc()
    server = OpsServer("127.0.0.1", 0, is_ready, registry)
    port = await server.start()
    try:
        assert port > 0 and server.port == port
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/healthz") as r:
                assert r.status == 503 and (await r.json())["status"] == "starting"
            ready = True
            async with http.get("/healthz") as r:
                assert r.status == 200 and (await r.json())["status"] == "ok"
            async with http.get("/metrics") as r:
                assert r.status == 200 and "bf_demo_total 1.0" in await r.text()
    finally:
        await server.stop()
