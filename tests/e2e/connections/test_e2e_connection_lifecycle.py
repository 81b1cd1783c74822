"""The walking skeleton end to end: HTTP API → gateway → Vault/KV/bus → tester → connector →
exchange simulator, on real NATS and real OpenBao, with every service a real process.

A canary secret (a key created in the simulator just for this test) is then searched for in
everything the system emitted: HTTP responses, every KV entry, every NATS message seen on the
wire during the run, every stream message, every service log and every /metrics page.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import httpx
import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client as NatsClient
from nats.js.errors import NoKeysError, NotFoundError

from bf_launch.stack import Stack
from bf_shared import subjects
from bf_shared.vault import HvacVault, SecretNotFound, VaultForbidden

from tests.e2e.connections.helpers import Api, Recorder, sim_key

SERVICES = ["sim", "connector", "tester", "gateway"]


@pytest.fixture
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    return stack_factory(services=SERVICES)


@pytest_asyncio.fixture
async def wiretap(stack: Stack) -> AsyncIterator[tuple[Recorder, NatsClient]]:
    recorder = Recorder()
    nc = await nats.connect(stack.nats_url)
    await nc.subscribe(">", cb=recorder.on_msg)
    try:
        yield recorder, nc
    finally:
        await nc.close()


async def _all_kv_entries(nc: NatsClient) -> list[bytes]:
    js = nc.jetstream()
    out: list[bytes] = []
    names = [s.config.name for s in await js.streams_info() if s.config.name.startswith("KV_")]
    assert f"KV_{subjects.KV_CONNECTIONS}" in names, names
    for stream in names:
        bucket = await js.key_value(stream.removeprefix("KV_"))
        try:
            keys = await bucket.keys()
        except (NoKeysError, NotFoundError):
            continue
        for key in keys:
            entry = await bucket.get(key)
            out.append(key.encode() + b"=" + (entry.value or b""))
    return out


async def _all_stream_messages(nc: NatsClient) -> list[bytes]:
    js = nc.jetstream()
    out: list[bytes] = []
    for info in await js.streams_info():
        if info.state.messages == 0:
            continue
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(info.config.name, seq)
            except NotFoundError:
                continue
            out.append((msg.data or b"") + repr(msg.headers).encode())
    return out


async def test_add_test_fail_delete_and_the_secret_never_leaks(
    stack: Stack, wiretap: tuple[Recorder, NatsClient]
) -> None:
    recorder, nc = wiretap
    mexc_key, mexc_secret = "e2eMX" + secrets.token_hex(8), "canaryMX" + secrets.token_hex(16)
    kc_key, kc_secret, kc_pass = "e2eKC" + secrets.token_hex(8), "canaryKC" + secrets.token_hex(16), "canaryPP" + secrets.token_hex(6)
    await sim_key(stack, "mexc", {
        "api_key": mexc_key, "secret": mexc_secret, "label": "e2e",
        "permissions": ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "SPOT_DEAL_WRITE"],
        "ip_whitelist": ["127.0.0.1"],
    })
    await sim_key(stack, "kucoin", {
        "api_key": kc_key, "secret": kc_secret, "passphrase": kc_pass, "label": "e2e",
        "permissions": ["General", "Spot"], "ip_whitelist": ["127.0.0.1"],
    })

    async with httpx.AsyncClient(base_url=stack.api_url, timeout=15) as client:
        api = Api(client, recorder)
        await api.login("trader@example.com")

        # A good MEXC key: added, tested automatically, Online.
        r = await api.call("POST", "/connections", json={
            "exchange": "mexc", "name": "MEXC Spot Main", "api_key": mexc_key, "secret": mexc_secret, "markets": ["spot"],
        })
        assert r.status_code == 201, r.text
        mexc = r.json()
        assert mexc["status"] in {"untested", "testing"}
        assert mexc["api_key_masked"] == f"{mexc_key[:4]}…{mexc_key[-4:]}"
        online = await api.wait_status(mexc["id"], {"online", "failed"})
        assert online["status"] == "online", online["last_test"]
        last = online["last_test"]
        assert last["status"] == "passed" and last["error"] is None
        assert last["permissions"]["withdraw"] is False and last["permissions"]["trade"] is True
        assert {c["name"] for c in last["checks"]} >= {"exchange_status", "api_key", "read", "trade", "withdraw_disabled"}

        # A KuCoin key with the wrong passphrase: failed, invalid_passphrase, with cause and remedy.
        r = await api.call("POST", "/connections", json={
            "exchange": "kucoin", "name": "KuCoin Spot", "api_key": kc_key, "secret": kc_secret,
            "passphrase": "wrong-" + kc_pass, "markets": ["spot"],
        })
        assert r.status_code == 201, r.text
        kucoin = r.json()
        failed = await api.wait_status(kucoin["id"], {"online", "failed"})
        assert failed["status"] == "failed"
        error = failed["last_test"]["error"]
        assert error["code"] == "invalid_passphrase" and error["cause"] and error["remedy"]

        # Another user sees none of it.
        other = Api(client, recorder)
        await other.login("someone.else@example.com")
        assert (await other.call("GET", f"/connections/{mexc['id']}")).status_code == 404
        assert (await other.call("DELETE", f"/connections/{mexc['id']}")).status_code == 404
        assert (await other.call("GET", "/connections")).json() == {"connections": []}

        # The connector role reads the secret; the gateway role may not.
        connector_vault = HvacVault(stack.vault.settings("connector"))
        assert (await connector_vault.read(mexc["id"])).secret.get_secret_value() == mexc_secret
        with pytest.raises(VaultForbidden):
            await HvacVault(stack.vault.settings("gateway")).read(mexc["id"])

        # Delete: 204, then every version of the secret is gone.
        assert (await api.call("DELETE", f"/connections/{mexc['id']}")).status_code == 204
        assert (await api.call("GET", f"/connections/{mexc['id']}")).status_code == 404
        with pytest.raises(SecretNotFound):
            await connector_vault.read(mexc["id"])
        with pytest.raises(SecretNotFound):
            await connector_vault.read(mexc["id"], version=1)

        metrics = [
            (await client.get(f"{stack.ops_url(name)}/metrics")).text
            for name in stack.children
            if name not in {"nats", "openbao", "sim"} and stack.child(name).spec.health_url
        ]
        metrics.append((await client.get(f"{stack.gateway_url}/metrics")).text)

    await nc.flush()
    await asyncio.sleep(0.3)
    emitted: dict[str, list[str]] = {
        "http": recorder.http,
        "bus": [b.decode(errors="replace") for b in recorder.bus],
        "kv": [b.decode(errors="replace") for b in await _all_kv_entries(nc)],
        "streams": [b.decode(errors="replace") for b in await _all_stream_messages(nc)],
        "logs": [stack.logs_text()],
        "metrics": metrics,
    }
    # The search must have material to search: otherwise it proves nothing.
    assert len(recorder.bus) > 10 and len(emitted["kv"]) >= 3 and len(emitted["streams"]) > 5
    assert any(kucoin["id"] in line for line in emitted["logs"]), "service logs were captured"
    for canary in (mexc_secret, kc_secret, kc_pass, "wrong-" + kc_pass, mexc_key, kc_key):
        leaks = {where: sum(canary in text for text in texts) for where, texts in emitted.items()}
        assert not any(leaks.values()), f"a secret value leaked: {leaks}"
