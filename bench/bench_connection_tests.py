"""Connection tests per second: the whole platform versus bare ccxt, measured in one run.

    python bench/bench_connection_tests.py [--tests 200] [--connections 10]

System: ``POST /connections/{id}/test`` through the real gateway → JetStream → tester →
connector (Vault read on first use, cached ccxt client) → exchange simulator, completion
observed as the ``test-passed`` event on the bus and then in the read model (``GET``). ``--connections`` flows run side by side,
each one test at a time (a user's tests of one connection never overlap).

Baseline: the same exchange calls the connector makes for a MEXC spot test (status, account,
apiKeyInfo, exchangeInfo + ticker then order/test, with the same concurrency), made with bare
ccxt from this process: no bus, no Vault, no verdict, no read model. The simulator's request
log proves both phases made the same calls per test.

Prints tests/s for both and the ratio system/baseline (1.0 would mean the platform adds no
cost over the exchange calls themselves). ``--latency-ms 50`` makes the simulator answer like a
real exchange's round trip; the default 0 shows the platform's own cost at its starkest.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import httpx
import nats

from bf_launch.stack import Stack
from bf_shared import subjects

SERVICES = ["sim", "connector", "tester", "gateway"]
PERMISSIONS = ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "SPOT_DEAL_WRITE", "SPOT_WITHDRAW_READ"]


async def _sim(stack: Stack, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=stack.sim_urls["mexc"], timeout=30) as sim:
        r = await sim.request(method, path, **kw)
        r.raise_for_status()
        return r.json() if r.content else None


async def _sim_calls(stack: Stack) -> collections.Counter[str]:
    rows = await _sim(stack, "GET", "/__sim/requests", params={"limit": 10_000})
    if rows["count"] > len(rows["requests"]):
        raise SystemExit("the simulator request log overflowed: run fewer tests")
    return collections.Counter(f"{r['method']} {r['path']}" for r in rows["requests"])


async def run_system(stack: Stack, keys: list[tuple[str, str]], tests: int) -> tuple[float, collections.Counter[str]]:
    nc = await nats.connect(stack.nats_url)
    # A test can finish before its POST has even returned: results are kept by test id.
    finished: dict[str, str] = {}
    waiting: dict[str, asyncio.Future[str]] = {}

    async def on_result(msg: Any) -> None:
        result = json.loads(msg.data)["result"]
        finished[result["test_id"]] = result["status"]
        fut = waiting.pop(result["test_id"], None)
        if fut is not None and not fut.done():
            fut.set_result(result["status"])

    await nc.subscribe(subjects.TEST_PASSED, cb=on_result)
    await nc.subscribe(subjects.TEST_FAILED, cb=on_result)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
        email, password = f"bench-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(16)
        (await api.post("/auth/register", json={"email": email, "password": password})).raise_for_status()
        token = (await api.post("/auth/login", json={"email": email, "password": password})).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        ids = []
        for i, (key, secret) in enumerate(keys):
            r = await api.post("/connections", json={
                "exchange": "mexc", "name": f"Bench {i}", "api_key": key, "secret": secret, "markets": ["spot"],
            })
            r.raise_for_status()
            ids.append(r.json()["id"])
        # Warm-up: the automatic first tests (Vault reads, ccxt clients, consumers).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            views = (await api.get("/connections")).json()["connections"]
            if all(v["status"] == "online" for v in views):
                break
            await asyncio.sleep(0.2)
        else:
            raise SystemExit(f"warm-up tests did not all pass: {[v['status'] for v in views]}")
        await _sim(stack, "DELETE", "/__sim/requests")

        per_flow = [tests // len(ids) + (1 if i < tests % len(ids) else 0) for i in range(len(ids))]
        outcomes: collections.Counter[str] = collections.Counter()

        async def flow(connection_id: str, count: int) -> None:
            for _ in range(count):
                r = await api.post(f"/connections/{connection_id}/test")
                r.raise_for_status()
                test_id = r.json()["test_id"]
                if test_id not in finished:
                    waiting[test_id] = asyncio.get_running_loop().create_future()
                    await asyncio.wait_for(waiting[test_id], 60)
                outcomes[finished[test_id]] += 1
                # Done for the user when the read model shows it (the projector follows the event).
                while (await api.get(f"/connections/{connection_id}")).json()["last_test"]["test_id"] != test_id:
                    await asyncio.sleep(0.005)

        start = time.perf_counter()
        await asyncio.gather(*(flow(c, n) for c, n in zip(ids, per_flow)))
        elapsed = time.perf_counter() - start
    await nc.close()
    if outcomes != {"passed": tests}:
        raise SystemExit(f"system phase: not every test passed: {dict(outcomes)}")
    return tests / elapsed, await _sim_calls(stack)


async def one_baseline_test(client: ccxt_async.mexc) -> None:
    """The connector's MEXC spot probe set, with the same concurrency."""

    async def trade() -> None:
        await asyncio.gather(
            client.spotPublicGetExchangeInfo({"symbol": "BTCUSDT"}),
            client.spotPublicGetTicker24hr({"symbol": "BTCUSDT"}),
        )
        await client.spotPrivatePostOrderTest(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.0001", "price": "10000"}
        )

    await asyncio.gather(
        client.fetch_status(), client.spotPrivateGetAccount(), client.spotPrivateGetApiKeyInfo(), trade()
    )


async def run_baseline(stack: Stack, keys: list[tuple[str, str]], tests: int) -> tuple[float, collections.Counter[str]]:
    from bf_sim.ccxt_urls import override_urls

    clients = []
    for key, secret in keys:
        client = ccxt_async.mexc({"apiKey": key, "secret": secret, "enableRateLimit": False})
        override_urls(client, stack.sim_urls["mexc"])
        clients.append(client)
    try:
        for client in clients:  # warm-up, as the system's first tests
            await one_baseline_test(client)
        await _sim(stack, "DELETE", "/__sim/requests")
        per_flow = [tests // len(clients) + (1 if i < tests % len(clients) else 0) for i in range(len(clients))]

        async def flow(client: ccxt_async.mexc, count: int) -> None:
            for _ in range(count):
                await one_baseline_test(client)

        start = time.perf_counter()
        await asyncio.gather(*(flow(c, n) for c, n in zip(clients, per_flow)))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    return tests / elapsed, await _sim_calls(stack)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-conn-") as tmp:
        stack = Stack(Path(tmp), services=SERVICES, log_level="WARNING")
        with stack:
            keys = [(f"bench{i:03d}{secrets.token_hex(6)}", secrets.token_hex(16)) for i in range(args.connections)]
            for key, secret in keys:
                await _sim(stack, "POST", "/__sim/keys", json={
                    "api_key": key, "secret": secret, "label": "bench", "permissions": PERMISSIONS,
                    "ip_whitelist": ["127.0.0.1"],
                })
            if args.latency_ms:
                await _sim(stack, "PATCH", "/__sim/conditions", json={"latency_ms": args.latency_ms})
            baseline_rate, baseline_calls = await run_baseline(stack, keys, args.tests)
            system_rate, system_calls = await run_system(stack, keys, args.tests)
    per_test = lambda calls: {k: round(v / args.tests, 2) for k, v in sorted(calls.items())}  # noqa: E731
    latency = f"{args.latency_ms} ms latency" if args.latency_ms else "no latency"
    print(f"connection tests: {args.tests} over {args.connections} connections (MEXC spot, simulator, {latency})")
    print(f"exchange calls per test, system:   {per_test(system_calls)}")
    print(f"exchange calls per test, baseline: {per_test(baseline_calls)}")
    print(f"baseline (bare ccxt):   {baseline_rate:8.1f} tests/s")
    print(f"system (end to end):    {system_rate:8.1f} tests/s")
    print(f"ratio system/baseline:  {system_rate / baseline_rate:8.3f}")
    if per_test(system_calls) != per_test(baseline_calls):
        print("warning: the two phases did not make the same exchange calls", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument(
        "--latency-ms", type=int, default=0,
        help="simulator answers every request after this delay (e.g. 50: a real exchange's round trip)",
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
