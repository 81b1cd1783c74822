"""Conditions set through the admin API: skew, throttling, maintenance, 5xx, latency, hang."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import ccxt
import pytest

from bf_sim import SimServer


async def test_clock_skew_fails_every_timestamp_window(client: Any, admin: Any, code_of: Any) -> None:
    await admin("mexc").conditions(clock_skew_ms=60_000)
    await admin("kucoin").conditions(clock_skew_ms=-60_000)
    mexc = client("mexc", "mexc-trade-ip")
    with pytest.raises(ccxt.InvalidNonce) as spot:
        await mexc.spot_private_get_account()
    assert code_of(spot.value) == "700003"
    with pytest.raises(ccxt.BadRequest) as swap:
        await mexc.contract_private_get_account_assets()
    assert code_of(swap.value) == "513"
    with pytest.raises(ccxt.InvalidNonce) as kc:
        await client("kucoin", "kucoin-trade-ip").private_get_accounts()
    assert code_of(kc.value) == "400002"
    # The server clock really moved: its time endpoints say so.
    assert abs((await mexc.fetch_time()) - (mexc.milliseconds() + 60_000)) < 5_000


async def test_rate_limit_answers_429_with_retry_after(sim: SimServer, client: Any, admin: Any, code_of: Any) -> None:
    await admin("mexc").conditions(rate_limit={"retry_after_s": 7})
    await admin("kucoin").conditions(rate_limit={"retry_after_s": 3})
    async with aiohttp.ClientSession() as http:
        async with http.get(sim.mexc_url + "/api/v3/ping") as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "7"
            assert (await resp.json())["code"] == 429
        async with http.get(sim.kucoin_url + "/api/v1/timestamp") as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "3"
            assert resp.headers["gw-ratelimit-remaining"] == "0" and "gw-ratelimit-reset" in resp.headers
            assert (await resp.json())["code"] == "429000"
    with pytest.raises(ccxt.RateLimitExceeded):
        await client("mexc").fetch_status()
    with pytest.raises(ccxt.RateLimitExceeded) as exc:
        await client("kucoin", "kucoin-trade-ip").private_get_accounts()
    assert code_of(exc.value) == "429000"
    with pytest.raises(ccxt.RateLimitExceeded) as swap:
        await client("mexc", "mexc-trade-ip").contract_private_get_account_assets()
    assert code_of(swap.value) == "510"


async def test_maintenance(client: Any, admin: Any, code_of: Any) -> None:
    await admin("mexc").conditions(maintenance=True)
    await admin("kucoin").conditions(maintenance=True)
    with pytest.raises(ccxt.OnMaintenance):
        await client("mexc").fetch_status()
    with pytest.raises(ccxt.OnMaintenance):
        await client("mexc", "mexc-trade-ip").contract_private_get_account_assets()
    kucoin = client("kucoin", "kucoin-trade-ip")
    assert (await kucoin.fetch_status())["status"] == "maintenance"
    assert (await kucoin.fetch_status())["info"]["data"]["status"] == "close"
    with pytest.raises(ccxt.ExchangeNotAvailable) as exc:
        await kucoin.private_get_accounts()
    assert code_of(exc.value) == "500000"
    await admin("kucoin").conditions(maintenance=False)
    assert (await kucoin.fetch_status())["status"] == "ok"


async def test_gateway_5xx(sim: SimServer, client: Any, admin: Any) -> None:
    await admin("mexc").conditions(http_5xx=502)
    await admin("kucoin").conditions(http_5xx=503)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await client("mexc", "mexc-trade-ip").fetch_balance()
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await client("kucoinfutures", "kucoin-trade-ip").fetch_status()
    async with aiohttp.ClientSession() as http, http.get(sim.mexc_url + "/api/v3/ping") as resp:
        assert resp.status == 502 and "Bad Gateway" in await resp.text()


async def test_latency_delays_every_answer(client: Any, admin: Any) -> None:
    await admin("kucoin").conditions(latency_ms=300)
    slow = client("kucoin", timeout=100)
    with pytest.raises(ccxt.RequestTimeout):
        await slow.fetch_time()
    patient = client("kucoin", timeout=5_000)
    started = time.monotonic()
    await patient.fetch_time()
    assert time.monotonic() - started >= 0.3


async def test_hang_holds_requests_until_reset(sim: SimServer, client: Any, admin: Any) -> None:
    await admin("mexc").conditions(hang=True)
    with pytest.raises(ccxt.RequestTimeout):
        await client("mexc", timeout=200).fetch_status()
    waiting = asyncio.create_task(client("mexc", timeout=10_000).fetch_time())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    status, _ = await admin("mexc").call("POST", "/__sim/reset")
    assert status == 200
    assert await asyncio.wait_for(waiting, 5) > 0
    assert (await client("mexc").fetch_status())["status"] == "ok"


async def test_hung_requests_do_not_delay_shutdown(demo: Any) -> None:
    server = SimServer(demo)
    await server.start()
    server.mexc.set_conditions(server.mexc.conditions.model_copy(update={"hang": True}))
    async with aiohttp.ClientSession() as http:
        pending = asyncio.create_task(http.get(server.mexc_url + "/api/v3/ping"))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 3
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)


async def test_per_key_conditions_touch_only_that_key(client: Any, admin: Any, demo_key: Any, code_of: Any) -> None:
    key = demo_key("kucoin-trade-noip")
    status, body = await admin("kucoin").call(
        "PATCH", f"/__sim/keys/{key.api_key}", {"conditions": {"rate_limit": {"retry_after_s": 2}}}
    )
    assert status == 200 and body["conditions"]["rate_limit"] == {"retry_after_s": 2}
    with pytest.raises(ccxt.RateLimitExceeded) as exc:
        await client("kucoin", "kucoin-trade-noip").private_get_accounts()
    assert code_of(exc.value) == "429000"
    await client("kucoin", "kucoin-trade-ip").private_get_accounts()
    await client("kucoin").fetch_time()


async def test_request_log_counts_calls_per_key_and_never_holds_secrets(client: Any, admin: Any, demo_key: Any) -> None:
    key = demo_key("mexc-trade-ip")
    ex = client("mexc", "mexc-trade-ip")
    await ex.fetch_balance()
    await ex.fetch_balance()
    log = await admin("mexc").requests(api_key=key.api_key, path="/api/v3/account")
    assert len(log) == 2 and all(r["status"] == 200 for r in log)
    assert log[0]["key_label"] == "mexc-trade-ip" and log[0]["api_key"] != key.api_key
    everything = str(await admin("mexc").requests())
    assert key.secret.get_secret_value() not in everything and key.api_key not in everything
    assert (await admin("mexc").call("DELETE", "/__sim/requests"))[0] == 204
    assert await admin("mexc").requests() == []


async def test_admin_rejects_bad_input_without_echoing_secrets(admin: Any) -> None:
    status, body = await admin("kucoin").call(
        "POST", "/__sim/keys", {"api_key": "demoX", "secret": "demo-very-secret", "permissions": ["SPOT_DEAL_WRITE"]}
    )
    assert status == 400 and "demo-very-secret" not in str(body)
    status, _ = await admin("mexc").call("PATCH", "/__sim/conditions", {"latency": 5})
    assert status == 400


async def test_documented_rate_limits_when_enabled(sim: SimServer, admin: Any) -> None:
    await admin("kucoin").call("PATCH", "/__sim/settings", {"simulate_rate_limits": True})
    async with aiohttp.ClientSession() as http, http.get(sim.kucoin_url + "/api/v3/currencies") as resp:
        assert resp.status == 200
        assert resp.headers["gw-ratelimit-limit"] == "2000"
        assert int(resp.headers["gw-ratelimit-remaining"]) == 2000 - 3


async def test_refused_requests_are_logged_against_the_key_they_claim(client: Any, admin: Any, demo_key: Any) -> None:
    key = demo_key("mexc-read-only")
    ex = client("mexc", "mexc-read-only", secret="demo0000000000000000000000000000")
    with pytest.raises(ccxt.AuthenticationError):
        await ex.spot_private_get_account()
    [row] = await admin("mexc").requests(api_key=key.api_key)
    assert (row["key_label"], row["status"], row["code"]) == ("mexc-read-only", 400, "700002")
