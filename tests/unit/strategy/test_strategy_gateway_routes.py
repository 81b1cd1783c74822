"""Gateway strategy routes over the in-memory gateway: presets, validation, ownership, events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bf_shared import subjects
from bf_shared.messages import Permissions, TestResult
from bf_shared.strategy_messages import StrategyEnabled, StrategySpec, StrategyStatusView, status_key

from bf_gateway.adapters.memory import InMemoryKv
from bf_gateway.adapters.repositories import ConnectionStore
from bf_gateway.bootstrap import create_app
from bf_gateway.domain.projection import on_test_finished
from bf_gateway.strategies.handlers import StrategyDeps
from bf_gateway.strategies.markets import StaticMarkets
from bf_gateway.strategies.store import StrategyStore
from bf_gateway.testing import InMemoryGateway

API = "/api/v1"
PASSWORD = "correct horse battery"
DESIGN_BODY: dict[str, Any] = {
    "name": "BTC ETH Conservative", "pairs": ["BTC/USDT", "ETH/USDT"], "market": "spot",
    "risk_level": "conservative", "base_order_quote": 20, "margin_limit_quote": 500,
    "reinforcement": {"max_adds": 5, "step_pct": 1.5, "size_multiplier": 1.5, "step_multiplier": 1.2},
    "take_profit_pct": 1.2,
    "recovery_mode": {"enabled": True, "trigger_drawdown_pct": 10, "exit": "breakeven", "partial_close_pct": 25},
}
LISTED = frozenset({"BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"})


class World:
    def __init__(self) -> None:
        self.gw = InMemoryGateway()
        self.strategies_kv = InMemoryKv()
        self.markets = StaticMarkets({("mexc", "spot"): LISTED, ("mexc", "futures"): LISTED})
        self.deps = StrategyDeps(strategies=StrategyStore(self.strategies_kv),
                                 connections=ConnectionStore(self.gw.connections_kv), markets=self.markets,
                                 publisher=self.gw.publisher, clock=self.gw.clock, new_id=self.gw.ids)


@pytest.fixture
def world() -> World:
    return World()


@pytest_asyncio.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world.gw.deps)
    app.state.strategy_routes = world.deps
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


async def login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def connection(client: httpx.AsyncClient, world: World, auth: dict[str, str], *, status: str = "passed",
                     markets: tuple[str, ...] = ("spot", "futures"), futures: bool | None = True) -> str:
    body = {"exchange": "mexc", "name": f"MEXC {len(world.gw.connections_kv.data)}", "api_key": "mx0vglTESTKEY0001abcd",
            "secret": "CANARY-SECRET-5f1d2c3b4a", "markets": list(markets)}
    r = await client.post(f"{API}/connections", json=body, headers=auth)
    assert r.status_code == 201, r.text
    view = r.json()
    if status != "testing":
        now = datetime.now(UTC)
        result = TestResult(test_id="t1", status=status, started_at=now, finished_at=now, checks=(),  # type: ignore[arg-type]
                            permissions=Permissions(read=True, trade=True, withdraw=False, futures=futures),
                            ip_restricted=True, error=None)
        store = ConnectionStore(world.gw.connections_kv)
        [user_id] = [key.split(".")[0] for key in world.gw.connections_kv.data if key.endswith(view["id"])]
        updated = await store.mutate(user_id, view["id"], lambda v: on_test_finished(
            v.model_copy(update={"pending_test": None}), result, now))
        assert updated is not None and updated.status == ("online" if status == "passed" else "failed")
    return str(view["id"])


def problems(r: httpx.Response) -> dict[str, str]:
    return {p["field"]: p["message"] for p in r.json()["error"].get("fields", [])}


async def test_design_body_enables_a_strategy_and_announces_it(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    r = await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "starting" and out["connection_id"] == cid and out["exchange"] == "mexc"
    for key in ("name", "pairs", "market", "risk_level", "base_order_quote", "margin_limit_quote",
                "take_profit_pct", "reinforcement"):
        assert out[key] == DESIGN_BODY[key], key
    assert r.headers["Location"] == f"{API}/strategies/{out['id']}"
    assert world.gw.publisher.subjects()[-1] == subjects.STRATEGY_ENABLED
    event = world.gw.publisher.published[-1][1]
    assert isinstance(event, StrategyEnabled) and event.strategy_id == out["id"]
    stored = StrategySpec.model_validate_json(world.strategies_kv.data[f"spec.{out['id']}"].value)
    assert stored.params.margin_limit_quote == 500 and stored.enabled


async def test_omitted_fields_take_the_preset(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    r = await client.post(f"{API}/connections/{cid}/strategies",
                          json={"name": "Lazy", "pair_group": "BTC ETH", "risk_level": "aggressive"}, headers=alice)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["pairs"] == ["BTC/USDT", "ETH/USDT"] and out["pair_group"] == "BTC ETH"
    assert out["reinforcement"]["max_adds"] == 8 and out["take_profit_pct"] == 2.0
    assert out["margin_limit_quote"] > out["base_order_quote"]


@pytest.mark.parametrize("body, field, words", [
    ({"base_order_quote": 50, "margin_limit_quote": 20}, "margin_limit_quote", "below one base order"),
    ({"pairs": ["BTCUSDT"]}, "pairs", "BASE/QUOTE"),
    ({"reinforcement": {"max_adds": 99}}, "reinforcement.max_adds", "less than or equal to 25"),
    ({"take_profit_pct": -1}, "take_profit_pct", "greater than 0"),
    ({"turbo": True}, "turbo", "not a known field"),
    ({"pairs": None, "pair_group": "Nope"}, "pair_group", "unknown pair_group"),
])
async def test_invalid_bodies_answer_422_with_the_rule(client: httpx.AsyncClient, world: World,
                                                       body: dict[str, Any], field: str, words: str) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    merged = {k: v for k, v in {**DESIGN_BODY, **body}.items() if v is not None}
    r = await client.post(f"{API}/connections/{cid}/strategies", json=merged, headers=alice)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert words in problems(r)[field]
    assert not world.strategies_kv.data and subjects.STRATEGY_ENABLED not in world.gw.publisher.subjects()


async def test_unknown_pair_for_the_exchange_is_refused(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    r = await client.post(f"{API}/connections/{cid}/strategies", json={**DESIGN_BODY, "pairs": ["BTC/USDT", "DOGE/USDT"]},
                          headers=alice)
    assert r.status_code == 422
    assert problems(r)["pairs"] == "DOGE/USDT: not traded on MEXC spot"


async def test_markets_unavailable_answers_503(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    world.markets.available = False
    r = await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)
    assert r.status_code == 503 and "Retry-After" in r.headers


async def test_connection_not_online_is_a_conflict(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    for status in ("testing", "failed"):
        cid = await connection(client, world, alice, status=status)
        r = await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "connection_not_online"


async def test_futures_need_futures_rights_and_the_futures_market(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    body = {**DESIGN_BODY, "market": "futures"}
    no_rights = await connection(client, world, alice, futures=False)
    r = await client.post(f"{API}/connections/{no_rights}/strategies", json=body, headers=alice)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_futures_permission"
    spot_only = await connection(client, world, alice, markets=("spot",), futures=None)
    r = await client.post(f"{API}/connections/{spot_only}/strategies", json=body, headers=alice)
    assert r.status_code == 409 and r.json()["error"]["code"] == "market_not_enabled"
    ok = await connection(client, world, alice)
    r = await client.post(f"{API}/connections/{ok}/strategies", json={**body, "leverage": 3}, headers=alice)
    assert r.status_code == 201, r.text
    assert r.json()["leverage"] == 3


async def test_other_users_see_404(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    bob = await login(client, "bob@example.com")
    cid = await connection(client, world, alice)
    r = await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)
    sid = r.json()["id"]
    assert (await client.get(f"{API}/connections/{cid}/strategies", headers=bob)).status_code == 404
    assert (await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=bob)).status_code == 404
    assert (await client.get(f"{API}/strategies/{sid}", headers=bob)).status_code == 404
    assert (await client.patch(f"{API}/strategies/{sid}", json={"name": "x"}, headers=bob)).status_code == 404
    assert (await client.delete(f"{API}/strategies/{sid}", headers=bob)).status_code == 404
    assert (await client.get(f"{API}/strategies/{sid}")).status_code == 401


async def test_list_shows_the_runner_status(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    sid = (await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)).json()["id"]
    view = StrategyStatusView(strategy_id=sid, status="paused", reason="connection_offline", spec_version=1,
                              runner_id="r1", exposure_quote=19.9)  # type: ignore[arg-type]
    await world.strategies_kv.put(status_key(sid), view.model_dump_json().encode())
    r = await client.get(f"{API}/connections/{cid}/strategies", headers=alice)
    assert r.status_code == 200
    [one] = r.json()["strategies"]
    assert (one["id"], one["status"], one["reason"], one["exposure_quote"]) == (sid, "paused", "connection_offline", 19.9)


async def test_patch_changes_parameters_and_pauses(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    sid = (await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)).json()["id"]
    r = await client.patch(f"{API}/strategies/{sid}", json={"take_profit_pct": 2.5, "paused": True}, headers=alice)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["take_profit_pct"] == 2.5 and out["version"] == 2 and out["status"] == "paused"
    assert out["reinforcement"] == DESIGN_BODY["reinforcement"]
    assert world.gw.publisher.subjects()[-1] == subjects.STRATEGY_UPDATED
    r = await client.patch(f"{API}/strategies/{sid}", json={"margin_limit_quote": 5}, headers=alice)
    assert r.status_code == 422 and "below one base order" in problems(r)["margin_limit_quote"]
    r = await client.patch(f"{API}/strategies/{sid}", json={"pairs": ["SOL/USDT"]}, headers=alice)
    assert r.status_code == 422 and "pairs" in problems(r)


async def test_delete_disables_once_and_is_idempotent(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    sid = (await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)).json()["id"]
    assert (await client.delete(f"{API}/strategies/{sid}", headers=alice)).status_code == 204
    assert (await client.delete(f"{API}/strategies/{sid}", headers=alice)).status_code == 204
    disabled = [m for s, m in world.gw.publisher.published if s == subjects.STRATEGY_DISABLED]
    assert len({m.message_id for m in disabled}) == 1  # the repeat is de-duplicated by the stream
    out = (await client.get(f"{API}/strategies/{sid}", headers=alice)).json()
    assert out["status"] == "disabled" and "cancelling open orders" in out["reason"]
    r = await client.patch(f"{API}/strategies/{sid}", json={"take_profit_pct": 3}, headers=alice)
    assert r.status_code == 409 and r.json()["error"]["code"] == "strategy_disabled"


async def test_publish_failure_leaves_no_strategy_behind(client: httpx.AsyncClient, world: World) -> None:
    alice = await login(client, "alice@example.com")
    cid = await connection(client, world, alice)
    world.gw.publisher.fail_on.add(subjects.STRATEGY_ENABLED)
    r = await client.post(f"{API}/connections/{cid}/strategies", json=DESIGN_BODY, headers=alice)
    assert r.status_code == 503
    assert not world.strategies_kv.data
