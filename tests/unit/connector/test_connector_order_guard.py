"""The connector's order guard: a key is used for trading only once its own version passed a test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_shared.codes import ErrorCode
from bf_shared.messages import ConnectionVerdict
from bf_shared.strategy_messages import OrderReply, OrderRequest
from bf_shared.subjects import verdict_key
from bf_shared.vault import Credentials, FakeVault

from bf_connector.domain.order_guard import place_refusal
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.metrics import ConnectorMetrics
from bf_connector.orders import handle_order
from bf_connector.verdicts import VerdictBook

from .fakes import CANARIES, FakeClock, ScriptedVenue, canary_credentials

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def verdict(version: int | None = 1, status: str = "passed", code: ErrorCode | None = None,
            connection_id: str = "c1") -> ConnectionVerdict:
    return ConnectionVerdict(connection_id=connection_id, test_id="t1", secret_version=version,
                             status=status, code=code, decided_at=T0)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("stored", "in_use", "loaded", "reason"),
    [
        (verdict(1), 1, True, None),
        (verdict(3), 3, True, None),
        (verdict(1), 1, False, "not_loaded"),
        (None, 1, True, "no_verdict"),
        (verdict(1, "failed", ErrorCode.WITHDRAW_ENABLED), 1, True, "failed"),
        (verdict(1, "failed", ErrorCode.EXCHANGE_UNAVAILABLE), 1, True, "failed"),
        (verdict(1), 2, True, "untested_key"),  # a rotated key, under test
        (verdict(2), 1, True, "untested_key"),  # a client older than the key that passed
        (verdict(None), 1, True, "unknown_version"),
        (verdict(1), None, True, "unknown_version"),
    ],
)
def test_the_rule(stored: ConnectionVerdict | None, in_use: int | None, loaded: bool, reason: str | None) -> None:
    refusal = place_refusal(stored, in_use, loaded=loaded)
    assert (refusal.reason if refusal else None) == reason


def test_only_a_client_older_than_the_passed_key_is_worth_reloading() -> None:
    older_client = place_refusal(verdict(2), 1, loaded=True)
    newer_key = place_refusal(verdict(1), 2, loaded=True)
    assert older_client is not None and older_client.stale_client
    assert newer_key is not None and not newer_key.stale_client


def test_a_failed_verdict_says_why() -> None:
    refusal = place_refusal(verdict(1, "failed", ErrorCode.WITHDRAW_ENABLED), 1, loaded=True)
    assert refusal is not None and "withdraw_enabled" in refusal.detail


# ----------------------------------------------------------------------------- the book


def test_the_book_refuses_until_a_whole_snapshot_is_in_and_then_follows_changes() -> None:
    book = VerdictBook()
    assert not book.loaded and book.get("c1") is None
    book.begin_load()
    book.apply(verdict_key("c1"), verdict(1))
    assert book.get("c1") is None  # the snapshot is not complete yet
    book.end_load()
    assert book.get("c1") == verdict(1)
    book.apply(verdict_key("c1"), verdict(2, "failed", ErrorCode.WITHDRAW_ENABLED))
    assert book.get("c1") == verdict(2, "failed", ErrorCode.WITHDRAW_ENABLED)
    book.apply(verdict_key("c1"), None)  # deleted
    assert book.get("c1") is None


def test_a_new_snapshot_replaces_the_book_and_stale_entries_go() -> None:
    book = VerdictBook()
    book.begin_load()
    book.apply(verdict_key("c1"), verdict(1))
    book.apply(verdict_key("c2"), verdict(1, connection_id="c2"))
    book.end_load()
    book.begin_load()  # the watch broke: re-reading
    assert not book.loaded and book.get("c1") is None
    book.apply(verdict_key("c2"), verdict(1, connection_id="c2"))
    book.end_load()
    assert book.get("c1") is None and book.get("c2") == verdict(1, connection_id="c2")


def test_a_verdict_about_another_connection_under_the_same_key_is_not_trusted() -> None:
    book = VerdictBook()
    book.begin_load()
    book.apply(verdict_key("c1"), verdict(1, connection_id="someone-else"))
    book.end_load()
    assert book.get("c1") is None


# ----------------------------------------------------------------------------- handle_order


class FakeExchange:
    """The ccxt calls orders make, answered from memory; every call logged with the key version."""

    def __init__(self, version: int | None, log: list[tuple[str, int | None]]) -> None:
        self.version = version
        self.log = log
        self.markets: dict[str, Any] = {"BTC/USDT": {"symbol": "BTC/USDT"}}
        self.orders: dict[str, dict[str, Any]] = {}

    async def create_order(self, symbol: str, type: str, side: str, amount: float, price: float | None,
                           params: dict[str, Any]) -> dict[str, Any]:
        self.log.append(("create_order", self.version))
        order = {"id": f"x{len(self.orders) + 1}", "clientOrderId": params["clientOrderId"], "symbol": symbol,
                 "type": type, "side": side, "amount": amount, "price": price, "filled": 0.0, "status": "open"}
        self.orders[params["clientOrderId"]] = order
        return order

    async def fetch_order(self, order_id: str | None, symbol: str, params: dict[str, Any]) -> dict[str, Any]:
        self.log.append(("fetch_order", self.version))
        return dict(self.orders.get(params["clientOrderId"], {}))

    async def cancel_order(self, order_id: str, symbol: str) -> dict[str, Any]:
        self.log.append(("cancel_order", self.version))
        for order in self.orders.values():
            if order["id"] == order_id:
                order["status"] = "canceled"
        return {}


class FakeOrderSession:
    """A venue session whose ccxt client is a :class:`FakeExchange`."""

    def __init__(self, credentials: Credentials, log: list[tuple[str, int | None]],
                 exchanges: list[FakeExchange]) -> None:
        self.venue = ScriptedVenue()
        self.credentials = credentials
        self.exchange = FakeExchange(credentials.version, log)
        exchanges.append(self.exchange)

    @property
    def secret_version(self) -> int | None:
        return self.credentials.version

    def client(self, *, futures: bool = False) -> FakeExchange:
        return self.exchange

    def _secrets(self) -> tuple[str, ...]:
        return ()

    async def close(self) -> None:
        pass


class FakeVerdicts:
    """:class:`bf_connector.verdicts.VerdictSource`: ``seen`` is the watched copy, ``bucket`` the KV itself."""

    def __init__(self, *seen: ConnectionVerdict, loaded: bool = True) -> None:
        self.seen = {v.connection_id: v for v in seen}
        self.bucket = dict(self.seen)
        self.loaded = loaded
        self.refreshes = 0

    def get(self, connection_id: str) -> ConnectionVerdict | None:
        return self.seen.get(connection_id) if self.loaded else None

    async def refresh(self, connection_id: str) -> ConnectionVerdict | None:
        self.refreshes += 1
        return self.bucket.get(connection_id)


class World:
    def __init__(self, *seen: ConnectionVerdict, loaded: bool = True, keys: int = 1) -> None:
        self.vault = FakeVault()
        self.keys = keys
        self.calls: list[tuple[str, int | None]] = []
        self.exchanges: list[FakeExchange] = []
        self.metrics = ConnectorMetrics(CollectorRegistry())
        self.clients = ClientFactory(
            ScriptedVenue(), ClientOptions(), metrics=self.metrics, clock=FakeClock(),
            build=lambda creds: FakeOrderSession(creds, self.calls, self.exchanges),  # type: ignore[arg-type,return-value]
        )
        self.verdicts = FakeVerdicts(*seen, loaded=loaded)

    async def store_keys(self) -> None:
        for _ in range(self.keys):
            await self.vault.put("c1", canary_credentials())

    async def order(self, action: str = "place", cid: str = "bf1") -> OrderReply:
        if not self.vault.versions:
            await self.store_keys()
        fields: dict[str, Any] = {}
        if action == "place":
            fields = {"side": "buy", "type": "limit", "amount": Decimal("0.001"), "price": Decimal(50000)}
        request = OrderRequest(action=action, connection_id="c1", exchange="mexc", market="spot",  # type: ignore[arg-type]
                               symbol="BTC/USDT", client_order_id=cid, **fields)
        return await handle_order(request, reader=self.vault, clients=self.clients, clock=FakeClock(),
                                  verdicts=self.verdicts, metrics=self.metrics)

    def refused(self, reason: str) -> float:
        return self.metrics.orders_refused.labels("mexc", reason)._value.get()  # type: ignore[no-any-return]

    def created(self) -> list[int | None]:
        return [version for name, version in self.calls if name == "create_order"]


async def test_a_passed_verdict_for_the_key_in_use_places_the_order() -> None:
    w = World(verdict(1))
    reply = await w.order()
    assert reply.ok and reply.order is not None and reply.order.status == "open"
    assert w.created() == [1]
    assert w.verdicts.refreshes == 0  # no KV read on the way of an allowed order


@pytest.mark.parametrize("code", [ErrorCode.WITHDRAW_ENABLED, ErrorCode.WITHDRAW_UNCONFIRMED, ErrorCode.INVALID_KEY])
async def test_a_failed_verdict_refuses_before_any_exchange_call(code: ErrorCode) -> None:
    w = World(verdict(1, "failed", code))
    reply = await w.order()
    assert not reply.ok and reply.error is not None
    assert (reply.error.code, reply.error.retryable) == ("connection_not_verified", False)
    assert code.value in reply.error.detail
    assert w.calls == [] and w.refused("failed") == 1


async def test_a_pass_for_an_older_key_version_does_not_authorise_the_new_key() -> None:
    w = World(verdict(1), keys=2)  # rotated: version 2 is the latest, only version 1 passed
    reply = await w.order()
    assert not reply.ok and reply.error is not None and reply.error.code == "connection_not_verified"
    assert "version 2" in reply.error.detail and w.calls == []
    assert w.refused("untested_key") == 1


async def test_no_verdict_yet_is_refused() -> None:
    w = World()
    reply = await w.order()
    assert reply.error is not None and reply.error.code == "connection_not_verified"
    assert w.calls == [] and w.refused("no_verdict") == 1


async def test_before_the_verdicts_are_loaded_every_placement_is_refused() -> None:
    w = World(verdict(1), loaded=False)
    reply = await w.order()
    assert reply.error is not None and reply.error.code == "connection_not_verified"
    assert w.calls == [] and w.refused("not_loaded") == 1
    assert w.verdicts.refreshes == 0  # fail closed: not even the bucket is asked


async def test_cancel_and_query_work_whatever_the_verdict() -> None:
    w = World(verdict(1))
    assert (await w.order("place", "bf1")).ok
    w.verdicts.seen = w.verdicts.bucket = {"c1": verdict(1, "failed", ErrorCode.WITHDRAW_ENABLED)}
    w.verdicts.loaded = False
    cancelled = await w.order("cancel", "bf1")
    assert cancelled.ok and cancelled.order is not None and cancelled.order.status == "canceled"
    queried = await w.order("query", "bf1")
    assert queried.ok and queried.order is not None and queried.order.status == "canceled"
    assert w.created() == [1] and ("cancel_order", 1) in w.calls


async def test_a_verdict_the_watch_has_not_delivered_yet_is_read_from_the_bucket() -> None:
    w = World(verdict(1), keys=2)
    w.verdicts.bucket["c1"] = verdict(2)  # stored by the tester, announced, not yet watched here
    reply = await w.order()
    assert reply.ok and w.created() == [2] and w.verdicts.refreshes == 1


async def test_a_client_cached_before_a_missed_rotation_is_replaced_by_the_tested_key() -> None:
    w = World(verdict(1))
    assert (await w.order("place", "bf1")).ok  # caches a client of version 1
    await w.vault.put("c1", canary_credentials())  # rotated to version 2; the eviction event was missed
    w.verdicts.seen = w.verdicts.bucket = {"c1": verdict(2)}  # version 2 passed its test
    reply = await w.order("place", "bf2")
    assert reply.ok and w.created() == [1, 2]


async def test_a_refusal_carries_no_secret_material() -> None:
    w = World(verdict(1, "failed", ErrorCode.WITHDRAW_ENABLED))
    reply = await w.order()
    body = reply.model_dump_json()
    assert not any(canary in body for canary in CANARIES)


async def test_a_verdict_of_another_key_version_never_leaks_the_key() -> None:
    w = World(verdict(1), keys=2)
    await w.store_keys()
    await w.vault.put("c1", Credentials(api_key=SecretStr("otherKEY000111"), secret=SecretStr("otherSECRET22")))
    reply = await w.order()
    body = reply.model_dump_json()
    assert not reply.ok and "version 3" in body
    assert "otherKEY000111" not in body and "otherSECRET22" not in body
