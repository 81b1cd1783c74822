"""A key that can withdraw is never used, even when it replaces a working key under a running strategy.

The whole stack (simulator, connectors, tester, gateway, two runners, real NATS and OpenBao):
a strategy trades on an Online connection; the user rotates the connection to a new key of
the same exchange account that has withdrawal enabled. The strategy pauses, the new key's
test fails with ``withdraw_enabled``, and the strategy never resumes — a re-test fails the
same way. The exchange never sees an order signed with the new key, not even from a caller
that bypasses the runners: the connector itself refuses to place it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import nats
import pytest_asyncio
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from bf_launch.stack import Stack
from bf_shared import subjects
from bf_shared.messages import ConnectionVerdict
from bf_shared.strategy_messages import OrderReply, OrderRequest

from .test_e2e_strategy_lifecycle import STRATEGY, Api, Sim, clients, key_body, online_connection, stack, until

__all__ = ["clients", "stack"]  # the lifecycle module's fixtures: one stack for this module

WITHDRAW = "SPOT_WITHDRAW_WRITE"


@pytest_asyncio.fixture
async def nc(stack: Stack) -> AsyncIterator[NatsClient]:
    client = await nats.connect(stack.nats_url)
    yield client
    await client.close()


async def place_directly(nc: NatsClient, cid: str) -> OrderReply:
    """An order request straight to the connector, as a runner that missed every event would send it."""
    request = OrderRequest(action="place", connection_id=cid, exchange="mexc", market="spot", symbol="BTC/USDT",
                           client_order_id="e2eguard" + secrets.token_hex(6), side="buy", type="limit",
                           amount=Decimal("0.001"), price=Decimal(60000))
    answer = await nc.request(subjects.order_subject("mexc"), request.model_dump_json().encode(), timeout=15)
    return OrderReply.model_validate_json(answer.data)


def signed_by(orders: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    return [o for o in orders if o["key_label"] == label]


async def test_rotating_to_a_withdraw_enabled_key_pauses_for_good_and_the_key_never_trades(
        clients: tuple[Api, Sim, Any], nc: NatsClient) -> None:
    api, sim, _ = clients
    await sim.price(60000)
    cid, old = await online_connection(api, sim, "strategy-e2e-guard@example.com")
    sid = (await api.call("POST", f"/connections/{cid}/strategies", json=STRATEGY)).json()["id"]

    async def running() -> bool:
        return (await api.call("GET", f"/strategies/{sid}")).json()["status"] == "running" and \
            len([o for o in await sim.orders(old["api_key"]) if o["status"] == "open"]) == 2
    await until(running, 45, "strategy running")

    # The user replaces the key with one of the same account that can withdraw.
    new = key_body("e2eWD" + secrets.token_hex(8), "e2esecret" + secrets.token_hex(12), old["account"])
    new["label"] = "e2e-withdraw-" + secrets.token_hex(3)
    new["permissions"] = [*new["permissions"], WITHDRAW]
    r = await sim.client.post("/__sim/keys", json=new)
    assert r.status_code == 201, r.text
    r = await api.call("PUT", f"/connections/{cid}/credentials",
                       json={"api_key": new["api_key"], "secret": new["secret"]})
    assert r.status_code == 200, r.text

    async def paused() -> Any:
        view = (await api.call("GET", f"/strategies/{sid}")).json()
        return view["status"] == "paused" and view
    view = await until(paused, 30, "strategy paused on the rotation")
    assert view["reason"] == "connection_offline"

    async def failed() -> Any:
        connection = (await api.call("GET", f"/connections/{cid}")).json()
        return connection["status"] == "failed" and connection
    connection = await until(failed, 60, "the new key's test failed")
    assert connection["last_test"]["error"]["code"] == "withdraw_enabled"
    assert connection["last_test"]["permissions"]["withdraw"] is True

    # What the connector checks: the verdict of version 2, failed.
    entry = await nc.jetstream().key_value(subjects.KV_VERDICTS)
    stored = ConnectionVerdict.model_validate_json((await entry.get(subjects.verdict_key(cid))).value or b"")
    assert (stored.status, stored.code, stored.secret_version) == ("failed", "withdraw_enabled", 2)

    # Prices cross the reinforcement and the exit: a trading strategy would place orders now.
    account_orders = len(await sim.orders(new["api_key"]))
    for price in (58700, 57500, 61000):
        await sim.price(price)
        await asyncio.sleep(2)
    # A caller that bypasses the runners is refused by the connector before the exchange.
    reply = await place_directly(nc, cid)
    assert not reply.ok and reply.error is not None and reply.error.code == "connection_not_verified"
    assert "withdraw_enabled" in reply.error.detail

    # The user asks for another test: the key still can withdraw, so nothing changes.
    assert (await api.call("POST", f"/connections/{cid}/test")).status_code == 202

    async def retested() -> Any:
        c = (await api.call("GET", f"/connections/{cid}")).json()
        return c["status"] == "failed" and c["last_test"]["test_id"] != connection["last_test"]["test_id"] and c
    again = await until(retested, 60, "the re-test failed too")
    assert again["last_test"]["error"]["code"] == "withdraw_enabled"
    await asyncio.sleep(6)  # longer than a reconciliation round

    view = (await api.call("GET", f"/strategies/{sid}")).json()
    assert view["status"] == "paused" and view["reason"] == "connection_offline"
    orders = await sim.orders(new["api_key"])
    assert signed_by(orders, new["label"]) == []  # the exchange never saw the new key trade
    assert len(orders) == account_orders  # and nothing else was placed on the account either
    await api.call("DELETE", f"/strategies/{sid}")


async def test_rotating_to_a_clean_key_resumes_and_trades_with_the_new_key(
        clients: tuple[Api, Sim, Any], nc: NatsClient) -> None:
    api, sim, _ = clients
    lifecycle: list[tuple[str, str]] = []

    async def record(msg: Msg) -> None:
        event = json.loads(msg.data)
        if event.get("strategy_id") == sid:
            lifecycle.append((msg.subject, event.get("reason")))

    await sim.price(60000)
    cid, old = await online_connection(api, sim, "strategy-e2e-guard-2@example.com")
    sid = (await api.call("POST", f"/connections/{cid}/strategies", json=STRATEGY)).json()["id"]

    async def running() -> bool:
        return (await api.call("GET", f"/strategies/{sid}")).json()["status"] == "running" and \
            len([o for o in await sim.orders(old["api_key"]) if o["status"] == "open"]) == 2
    await until(running, 45, "strategy running")

    sub = await nc.subscribe("bf.evt.strategy.>", cb=record)
    new = key_body("e2eOK" + secrets.token_hex(8), "e2esecret" + secrets.token_hex(12), old["account"])
    new["label"] = "e2e-clean-" + secrets.token_hex(3)
    r = await sim.client.post("/__sim/keys", json=new)
    assert r.status_code == 201, r.text
    r = await api.call("PUT", f"/connections/{cid}/credentials", json={"api_key": new["api_key"], "secret": new["secret"]})
    assert r.status_code == 200, r.text

    async def online_again() -> bool:
        c = (await api.call("GET", f"/connections/{cid}")).json()
        return c["status"] == "online" and c["last_test"]["test_id"] == r.json()["current_test"]["test_id"]
    await until(online_again, 60, "the new key passed its test")
    await until(running, 30, "strategy running again")
    # Paused for the rotation, resumed by the new key's pass: the old key's pass no longer counted.
    await until(lambda: _both(lifecycle), 10, "paused and resumed events")
    await sub.unsubscribe()

    await sim.price(58700)  # add 1 fills: the exit is re-priced and add 2 placed, now with the new key

    async def traded_with_new_key() -> Any:
        return signed_by(await sim.orders(new["api_key"]), new["label"])
    placed = await until(traded_with_new_key, 45, "orders signed with the new key")
    assert all(o["key_label"] == new["label"] for o in placed)
    await api.call("DELETE", f"/strategies/{sid}")


async def _both(lifecycle: list[tuple[str, str]]) -> bool:
    return lifecycle[:2] == [(subjects.STRATEGY_PAUSED, "connection_offline"),
                             (subjects.STRATEGY_RESUMED, "connection_offline")]
