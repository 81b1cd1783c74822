"""Strategies end to end: HTTP API -> gateway -> KV/bus -> runners -> connector -> simulator.

One stack (simulator, connectors, tester, gateway, two runner replicas, real NATS and
OpenBao, every service a process) serves the module's tests, which run in order:

1. a strategy enabled on an Online connection trades a scripted price path: base order,
   take profit, reinforcement, re-priced exit, cycle closed, next cycle — checked in the
   simulator's own order book;
2. the exchange stops accepting the key (its IP whitelist no longer has the platform): a
   re-test fails, the strategy pauses; the whitelist is fixed: a re-test passes, the
   strategy resumes and catches up with what filled meanwhile;
3. the runner owning the strategies is killed with -9: the other owns them within TTL + 5 s,
   announces each one it took over on ``bf.evt.strategy.lease_lost`` (once), continues from
   the persisted state, and the simulator holds no duplicate order.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import ROUND_CEILING, Decimal
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio
from nats.js.api import DeliverPolicy
from nats.js.kv import KeyValue

from bf_launch.stack import Stack
from bf_launch.vault_bootstrap import VaultAccess
from bf_shared import subjects
from bf_shared.strategy_messages import StrategyStatusView, lease_lost_id, status_key

PASSWORD = "correct horse battery staple"
LEASE_TTL_S = 6.0
RUNNER_ENV = {"BACKFUTURE_LEASE_TTL_S": str(LEASE_TTL_S), "BACKFUTURE_HEARTBEAT_S": "1.5",
              "BACKFUTURE_SCAN_S": "1", "BACKFUTURE_RECONCILE_S": "5", "BACKFUTURE_INTEREST_S": "2"}
STRATEGY = {
    "name": "E2E BTC", "pairs": ["BTC/USDT"], "market": "spot", "risk_level": "conservative",
    "base_order_quote": 20, "margin_limit_quote": 1000,
    "reinforcement": {"max_adds": 2, "step_pct": 2, "size_multiplier": 2, "step_multiplier": 1},
    "take_profit_pct": 1,
    "recovery_mode": {"enabled": True, "trigger_drawdown_pct": 10, "exit": "breakeven", "partial_close_pct": 25},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, vault_server: VaultAccess) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("strategy-stack"), vault=vault_server, runner_replicas=2,
              services=["sim", "connector", "tester", "runner", "gateway"], service_env={"runner": RUNNER_ENV})
    s.start()
    try:
        yield s
    finally:
        s.stop()


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""

    async def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.client.request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kw)

    async def login(self, email: str) -> None:
        await self.client.post("/auth/register", json={"email": email, "password": PASSWORD})
        r = await self.client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]


class Sim:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def price(self, value: int | str) -> None:
        r = await self.client.put("/__sim/prices/BTCUSDT", json={"prices": [str(value)]})
        assert r.status_code == 200, r.text

    async def orders(self, api_key: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/__sim/orders?api_key={api_key}")
        assert r.status_code == 200, r.text
        return list(r.json()["orders"])


@pytest_asyncio.fixture
async def clients(stack: Stack) -> AsyncIterator[tuple[Api, Sim, KeyValue]]:
    nc = await nats.connect(stack.nats_url)
    kv = await nc.jetstream().key_value(subjects.KV_STRATEGIES)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=20) as api_client, \
            httpx.AsyncClient(base_url=stack.sim_urls["mexc"], timeout=10) as sim_client:
        yield Api(api_client), Sim(sim_client), kv
    await nc.close()


def key_body(api_key: str, secret: str, account: str) -> dict[str, Any]:
    return {"api_key": api_key, "secret": secret, "label": "e2e-strategy", "account": account,
            "permissions": ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "SPOT_DEAL_WRITE"], "ip_whitelist": ["127.0.0.1"],
            "balances": {"spot": {"USDT": "20000"}}}


async def until(check: Callable[[], Awaitable[Any]], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


async def online_connection(api: Api, sim: Sim, email: str) -> tuple[str, dict[str, Any]]:
    key = key_body("e2eST" + secrets.token_hex(8), "e2esecret" + secrets.token_hex(12), "acct-" + secrets.token_hex(4))
    r = await sim.client.post("/__sim/keys", json=key)
    assert r.status_code == 201, r.text
    await api.login(email)
    r = await api.call("POST", "/connections", json={"exchange": "mexc", "name": "E2E", "api_key": key["api_key"],
                                                     "secret": key["secret"], "markets": ["spot"]})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]

    async def online() -> bool:
        return (await api.call("GET", f"/connections/{cid}")).json()["status"] == "online"
    await until(online, 60, "connection online")
    return cid, key


def summary(orders: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(o["side"], o["price"] and format(Decimal(o["price"]).normalize(), "f"), o["status"]) for o in
            sorted(orders, key=lambda o: o["created"])]


async def test_strategy_trades_a_scripted_path_through_the_whole_system(clients: tuple[Api, Sim, KeyValue]) -> None:
    api, sim, _ = clients
    await sim.price(60000)
    cid, key = await online_connection(api, sim, "strategy-e2e-1@example.com")
    r = await api.call("POST", f"/connections/{cid}/strategies", json=STRATEGY)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    async def opened() -> Any:
        orders = await sim.orders(key["api_key"])
        return len([o for o in orders if o["status"] == "open"]) == 2 and orders
    await until(opened, 45, "base filled, take profit and first add resting")
    # base: a limit at ceil(60000 x 1.005) that fills at the ask; the exit 1 % above that
    # fill, rounded up to the cent; add 1 2 % below it, rounded down
    orders = sorted(await sim.orders(key["api_key"]), key=lambda o: o["created"])
    fill = Decimal(orders[0]["average"])
    assert summary(orders) == [("buy", "60300", "filled"), ("sell", summary(orders)[1][1], "open"),
                               ("buy", "58800", "open")]
    tp1 = summary(orders)[1][1]
    assert Decimal(tp1) == (fill * Decimal("1.01")).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    out = (await api.call("GET", f"/strategies/{sid}")).json()
    assert out["status"] == "running" and out["pair_states"][0]["phase"] == "in_position"

    await sim.price(58700)  # add 1 fills; the exit is re-priced on the new average, add 2 placed

    async def repriced() -> Any:
        orders = await sim.orders(key["api_key"])
        return len(orders) == 5 and len([o for o in orders if o["status"] == "open"]) == 2 and orders
    orders = await until(repriced, 45, "exit re-priced after the reinforcement")
    sides = summary(orders)
    assert sides[:3] == [("buy", "60300", "filled"), ("sell", tp1, "canceled"), ("buy", "58800", "filled")]
    later = {side: Decimal(price) for side, price, _ in sides[3:]}
    assert later["buy"] == 57600  # add 2: 4 % below the base fill
    # the new exit: 1 % above the average of the two fills (base near 60000, add 1 at 58800)
    assert Decimal("58800") * Decimal("1.01") < later["sell"] < Decimal(tp1)

    await sim.price(60000)  # the exit fills: the cycle closes, add 2 is cancelled, cycle 2 starts

    async def next_cycle() -> Any:
        view = (await api.call("GET", f"/strategies/{sid}")).json()
        return view["pair_states"] and view["pair_states"][0]["cycles_done"] == 1 and \
            view["pair_states"][0]["phase"] == "in_position" and view
    await until(next_cycle, 45, "cycle 2 opened")
    orders = await sim.orders(key["api_key"])
    assert len({o["client_order_id"] for o in orders}) == len(orders)
    statuses = [o["status"] for o in orders]
    # filled: base, add 1, exit, base 2; cancelled: exit 1, add 2; open: exit and add of cycle 2
    assert (statuses.count("filled"), statuses.count("canceled"), statuses.count("open")) == (4, 2, 2), summary(orders)

    # disable: the open orders are cancelled, the status says so
    assert (await api.call("DELETE", f"/strategies/{sid}")).status_code == 204

    async def all_cancelled() -> bool:
        return not [o for o in await sim.orders(key["api_key"]) if o["status"] == "open"]
    await until(all_cancelled, 30, "open orders cancelled on disable")
    assert (await api.call("GET", f"/strategies/{sid}")).json()["status"] == "disabled"


async def test_revoked_key_pauses_the_strategy_and_a_passing_retest_resumes_it(
        clients: tuple[Api, Sim, KeyValue]) -> None:
    api, sim, _ = clients
    await sim.price(60000)
    cid, key = await online_connection(api, sim, "strategy-e2e-2@example.com")
    sid = (await api.call("POST", f"/connections/{cid}/strategies", json=STRATEGY)).json()["id"]

    async def running() -> bool:
        return (await api.call("GET", f"/strategies/{sid}")).json()["status"] == "running" and \
            len([o for o in await sim.orders(key["api_key"]) if o["status"] == "open"]) == 2
    await until(running, 45, "strategy running")

    # The key stops working for the platform: the exchange now refuses its IP.
    r = await sim.client.patch(f"/__sim/keys/{key['api_key']}", json={"ip_whitelist": ["203.0.113.99"]})
    assert r.status_code == 200, r.text
    assert (await api.call("POST", f"/connections/{cid}/test")).status_code == 202

    async def paused() -> Any:
        view = (await api.call("GET", f"/strategies/{sid}")).json()
        return view["status"] == "paused" and view
    view = await until(paused, 60, "strategy paused after the failed re-test")
    assert view["reason"] == "connection_offline"

    # The runner may hear of the failure (or be refused by the exchange itself) a moment before
    # the gateway's read model shows it: wait for the read model too.
    async def failed() -> Any:
        connection = (await api.call("GET", f"/connections/{cid}")).json()
        return connection["status"] == "failed" and connection
    connection = await until(failed, 30, "connection failed after the re-test")
    assert connection["last_test"]["error"]["code"] == "ip_not_allowed"
    r = await sim.client.patch(f"/__sim/keys/{key['api_key']}", json={"ip_whitelist": ["127.0.0.1"]})
    assert r.status_code == 200, r.text  # the user fixes the whitelist
    await sim.price(58700)  # meanwhile add 1 fills on the exchange
    assert (await api.call("POST", f"/connections/{cid}/test")).status_code == 202

    seen: list[Any] = []

    async def resumed() -> Any:
        view = (await api.call("GET", f"/strategies/{sid}")).json()
        seen[:] = [view]
        return view["status"] == "running" and view["pair_states"][0]["adds_done"] == 1 and view
    try:
        await until(resumed, 60, "strategy resumed and caught up with the fill")
    except AssertionError as e:
        raise AssertionError(f"{e}: {seen}") from None
    await api.call("DELETE", f"/strategies/{sid}")


async def _owners(kv: KeyValue, ids: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for sid in ids:
        try:
            entry = await kv.get(status_key(sid))
            out[sid] = StrategyStatusView.model_validate_json(entry.value or b"{}").runner_id
        except Exception:
            out[sid] = None
    return out


async def test_killed_runner_is_replaced_within_ttl_plus_5s_and_no_order_is_duplicated(
        stack: Stack, clients: tuple[Api, Sim, KeyValue]) -> None:
    api, sim, kv = clients
    await sim.price(60000)
    cid, key = await online_connection(api, sim, "strategy-e2e-3@example.com")
    ids = []
    for i in range(4):
        r = await api.call("POST", f"/connections/{cid}/strategies", json={**STRATEGY, "name": f"E2E {i}"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    async def all_open() -> bool:
        return len([o for o in await sim.orders(key["api_key"]) if o["status"] == "open"]) == 2 * len(ids)
    await until(all_open, 60, "every strategy trading")
    owners = await until(lambda: _owners_known(kv, ids), 20, "owners reported")
    pids = {name: child.pid for name, child in stack.children.items() if name.startswith("runner-")}
    by_runner = {name: [s for s, rid in owners.items() if rid and f"-{pid}-" in rid] for name, pid in pids.items()}
    victim = max(by_runner, key=lambda n: len(by_runner[n]))
    survivor = next(n for n in pids if n != victim)
    assert by_runner[victim], by_runner
    before = len(await sim.orders(key["api_key"]))

    stack.child(victim).signal(signal.SIGKILL)
    killed_at = time.monotonic()
    nc = await nats.connect(stack.nats_url)
    try:
        await asyncio.sleep(0.5)  # the process is gone; its session outlives it by most of a TTL
        lost_claims = await _claims_of(nc, ids, f"-{pids[victim]}-")
        assert lost_claims

        async def taken_over() -> bool:
            now = await _owners(kv, ids)
            return all(rid and f"-{pids[survivor]}-" in rid for rid in now.values())
        await until(taken_over, LEASE_TTL_S + 5 + 5, "takeover")
        assert time.monotonic() - killed_at <= LEASE_TTL_S + 5 + 1  # + polling slack
        assert len(await sim.orders(key["api_key"])) == before  # takeover re-sent nothing new

        # The owner is told: one lease-lost event per strategy the killed runner held, from the survivor.
        lost = await _lease_lost(nc, set(lost_claims))
        assert sorted(e["strategy_id"] for e, _ in lost) == sorted(lost_claims)
        user_id = json.loads((await kv.get(f"spec.{ids[0]}")).value or b"{}")["user_id"]
        for event, msg_id in lost:
            runner_id, session_id = lost_claims[event["strategy_id"]]
            assert msg_id == event["message_id"] == lease_lost_id(event["strategy_id"], session_id)
            assert (event["user_id"], event["connection_id"], event["previous_owner"]) == (user_id, cid, runner_id)
            assert f"-{pids[survivor]}-" in event["new_owner"] and event["name"].startswith("E2E ")
    finally:
        await nc.close()

    await sim.price(58700)  # every strategy: add 1 fills, exit re-priced, add 2 placed — once each

    async def continued() -> Any:
        orders = await sim.orders(key["api_key"])
        return len([o for o in orders if o["status"] == "open"]) == 2 * len(ids) and \
            len([o for o in orders if o["status"] == "filled"]) == 2 * len(ids) and orders
    orders = await until(continued, 60, "the survivor continues every strategy")
    assert len(orders) == 5 * len(ids), json.dumps(summary(orders))
    assert len({o["client_order_id"] for o in orders}) == len(orders)
    stack.child(victim).stop()
    for sid in ids:
        await api.call("DELETE", f"/strategies/{sid}")


async def _claims_of(nc: nats.NATS, ids: list[str], runner_marker: str) -> dict[str, tuple[str, str]]:
    """Strategy id -> (runner id, session id) of the claims held by the runner named like ``runner_marker``."""
    leases = await nc.jetstream().key_value(subjects.KV_LEASES)
    out = {}
    for sid in ids:
        claim = json.loads((await leases.get(f"claim.{sid}")).value or b"{}")
        if runner_marker in claim.get("runner_id", ""):
            out[sid] = (claim["runner_id"], claim["session_id"])
    return out


async def _lease_lost(nc: nats.NATS, strategy_ids: set[str]) -> list[tuple[dict[str, Any], str | None]]:
    """The lease-lost events of these strategies in the events stream (with their Nats-Msg-Id):
    waits for one each, then a moment more so that a duplicate would show."""
    sub = await nc.jetstream().subscribe(subjects.STRATEGY_LEASE_LOST, ordered_consumer=True,
                                         deliver_policy=DeliverPolicy.ALL)
    out: list[tuple[dict[str, Any], str | None]] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=15.0 if len(out) < len(strategy_ids) else 1.0)
            except nats.errors.TimeoutError:
                return out
            event = json.loads(msg.data)
            if event["strategy_id"] in strategy_ids:
                out.append((event, (msg.headers or {}).get("Nats-Msg-Id")))
    finally:
        await sub.unsubscribe()


async def _owners_known(kv: KeyValue, ids: list[str]) -> dict[str, str | None] | None:
    owners = await _owners(kv, ids)
    return owners if all(owners.values()) else None

