"""The connection test tells the whole truth, proven through the real stack.

HTTP API → gateway → Vault/KV/JetStream → tester → connector (ccxt) → exchange simulator, every
service a real process, one stack for the whole module. Each test makes its own simulator keys
(unique values) and, where it can, puts failure modes on *its key only* (per-key conditions),
so tests never see each other's exchange trouble; the two tests that must change an
exchange-wide switch restore it in a ``finally``. Every connection a test adds is deleted when
the test ends, which also stops its periodic re-tests.

The tester runs with short retry delays (``MAX_ATTEMPTS`` tries, at most ``RETRY_CAP_S``
apart) and a short re-test interval, and the connectors with short probe deadlines, so a
retry, a re-test or a hung exchange is seen within seconds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio
from nats.aio.msg import Msg

from bf_launch.stack import Stack
from bf_launch.vault_bootstrap import VaultAccess
from bf_shared import subjects
from bf_shared.codes import TEXTS, ErrorCode

from tests.e2e.connections.helpers import CHECK_NAMES, PASSWORD, Api, SimControl

SERVICES = ["sim", "connector", "tester", "gateway"]
EGRESS_IPS = ("127.0.0.1", "203.0.113.7")
MAX_ATTEMPTS = 4
RETRY_CAP_S = 2.0
RETEST_INTERVAL_S = 6.0
TESTER_ENV = {
    "BACKFUTURE_RETRY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    "BACKFUTURE_RETRY_BASE_S": "1",
    "BACKFUTURE_RETRY_CAP_S": str(RETRY_CAP_S),
    "BACKFUTURE_RETRY_MIN_S": "0.5",
    "BACKFUTURE_RETEST_INTERVAL_S": str(RETEST_INTERVAL_S),
    "BACKFUTURE_SCHEDULER_TICK_S": "0.5",
    "BACKFUTURE_PROBE_TIMEOUT_S": "10",
}
# A hung exchange costs one probe deadline per attempt: keep it short (the tester waits longer).
CONNECTOR_ENV = {"BACKFUTURE_PROBE_TIMEOUT_S": "3", "BACKFUTURE_REQUEST_TIMEOUT_S": "2.5"}

MEXC_SPOT = ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "SPOT_DEAL_WRITE"]
MEXC_FUTURES = [*MEXC_SPOT, "CONTRACT_ACCOUNT_READ", "CONTRACT_DEAL_READ", "CONTRACT_DEAL_WRITE"]
KUCOIN_SPOT = ["General", "Spot"]
KUCOIN_FUTURES = ["General", "Spot", "Futures"]
GOOD = {"mexc": MEXC_SPOT, "kucoin": KUCOIN_SPOT}
EXCHANGES = ["mexc", "kucoin"]

Seen = dict[str, bool | None]
NONE_KNOWN: Seen = {"read": None, "trade": None, "withdraw": None, "futures": None}


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, vault_server: VaultAccess) -> Iterator[Stack]:
    with Stack(
        tmp_path_factory.mktemp("test-truth"),
        services=SERVICES,
        vault=vault_server,
        egress_ips=",".join(EGRESS_IPS),
        service_env={"tester": TESTER_ENV, "connector": CONNECTOR_ENV},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(stack: Stack) -> dict[str, str]:
    """Two users, registered once for the module: ``alice`` (most tests) and ``bob``."""
    out = {}
    with httpx.Client(base_url=stack.api_url, timeout=15) as client:
        for who in ("alice", "bob"):
            email = f"{who}-{secrets.token_hex(4)}@example.com"
            assert client.post("/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
            r = client.post("/auth/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            out[who] = r.json()["access_token"]
    return out


class Trader(Api):
    """A logged-in user who remembers the connections they add (deleted after the test)."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        super().__init__(client, token=token)
        self.added: list[str] = []

    async def add(
        self,
        exchange: str,
        creds: dict[str, str],
        *,
        markets: tuple[str, ...] = ("spot",),
        name: str | None = None,
        **overrides: str,
    ) -> dict[str, Any]:
        body = {
            "exchange": exchange,
            "name": name or f"{exchange} {secrets.token_hex(3)}",
            "markets": list(markets),
            **creds,
            **overrides,
        }
        r = await self.call("POST", "/connections", json=body)
        assert r.status_code == 201, r.text
        view: dict[str, Any] = r.json()
        self.added.append(view["id"])
        return view

    async def verdict(self, connection_id: str, timeout_s: float = 30) -> dict[str, Any]:
        """The connection once its current test has an outcome (``online`` or ``failed``)."""
        return await self.wait_status(connection_id, {"online", "failed"}, timeout_s)

    async def cleanup(self) -> None:
        for connection_id in self.added:
            r = await self.call("DELETE", f"/connections/{connection_id}")
            assert r.status_code in (204, 404), r.text


@pytest_asyncio.fixture
async def alice(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[Trader]:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=15) as client:
        trader = Trader(client, tokens["alice"])
        try:
            yield trader
        finally:
            await trader.cleanup()


@pytest_asyncio.fixture
async def bob(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[Trader]:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=15) as client:
        trader = Trader(client, tokens["bob"])
        try:
            yield trader
        finally:
            await trader.cleanup()


@pytest.fixture
def sim(stack: Stack) -> SimControl:
    return SimControl(stack)


@dataclass
class Events:
    """Test events seen on the bus while the test ran."""

    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def on_msg(self, msg: Msg) -> None:
        self.seen.append((msg.subject, json.loads(msg.data)))

    def of(self, connection_id: str, subject: str) -> list[dict[str, Any]]:
        return [body for subj, body in self.seen if subj == subject and body["connection_id"] == connection_id]

    async def settled(self, connection_id: str, subject: str, count: int, timeout_s: float = 5) -> list[dict[str, Any]]:
        """The connection's events on ``subject`` once ``count`` arrived (the read model may be
        updated a moment before this subscriber hears the event)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(self.of(connection_id, subject)) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return self.of(connection_id, subject)


@pytest_asyncio.fixture
async def events(stack: Stack) -> AsyncIterator[Events]:
    nc = await nats.connect(stack.nats_url)
    recorded = Events()
    await nc.subscribe("bf.evt.test.>", cb=recorded.on_msg)
    await nc.flush()
    try:
        yield recorded
    finally:
        await nc.close()


# ----------------------------------------------------------------------------- assertions


def checks_of(view: dict[str, Any]) -> dict[str, str]:
    checks = view["last_test"]["checks"]
    assert [c["name"] for c in checks] == CHECK_NAMES
    assert all(c["detail"] for c in checks), checks
    return {c["name"]: c["status"] for c in checks}


def assert_failed(view: dict[str, Any], code: str) -> dict[str, Any]:
    """``view`` failed with ``code``, with non-empty English cause and remedy."""
    last: dict[str, Any] = view["last_test"]
    assert view["status"] == "failed", last
    assert last["status"] == "failed"
    error = last["error"]
    assert error is not None and error["code"] == code, last
    assert error["cause"] and error["remedy"]
    assert (error["cause"], error["remedy"]) == TEXTS[ErrorCode(code)]
    return last


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def codes(warnings: list[dict[str, Any]]) -> list[str]:
    return [w["code"] for w in warnings]


# ----------------------------------------------------------------------------- key errors


@dataclass(frozen=True)
class KeyCase:
    """A key problem the user must fix: what the exchange knows, what the user typed, the verdict."""

    exchange: str
    permissions: list[str]
    code: str
    failed_check: str
    seen: Seen
    markets: tuple[str, ...] = ("spot",)
    ip_whitelist: tuple[str, ...] = ("127.0.0.1",)
    typed: str = "as_created"  # or unknown_key, bad_secret, bad_passphrase
    ip_restricted: bool | None = True

    @property
    def blocks(self) -> bool:
        """Whether the error stops the test from learning the key's rights."""
        return self.code in {"invalid_key", "invalid_passphrase", "ip_not_allowed"}


_SPOT_ONLY_MEXC: Seen = {"read": True, "trade": True, "withdraw": False, "futures": False}
_SPOT_ONLY_KUCOIN: Seen = {"read": True, "trade": True, "withdraw": False, "futures": False}

KEY_CASES: dict[str, KeyCase] = {
    "mexc-unknown-key": KeyCase("mexc", MEXC_SPOT, "invalid_key", "api_key", NONE_KNOWN, typed="unknown_key", ip_restricted=None),
    "kucoin-unknown-key": KeyCase("kucoin", KUCOIN_SPOT, "invalid_key", "api_key", NONE_KNOWN, typed="unknown_key", ip_restricted=None),
    "mexc-bad-secret": KeyCase("mexc", MEXC_SPOT, "invalid_key", "api_key", NONE_KNOWN, typed="bad_secret", ip_restricted=None),
    "kucoin-bad-secret": KeyCase("kucoin", KUCOIN_SPOT, "invalid_key", "api_key", NONE_KNOWN, typed="bad_secret", ip_restricted=None),
    "kucoin-wrong-passphrase": KeyCase(
        "kucoin", KUCOIN_SPOT, "invalid_passphrase", "api_key", NONE_KNOWN, typed="bad_passphrase", ip_restricted=None
    ),
    "mexc-ip-not-whitelisted": KeyCase("mexc", MEXC_SPOT, "ip_not_allowed", "ip_whitelist", NONE_KNOWN, ip_whitelist=("10.9.8.7",)),
    "kucoin-ip-not-whitelisted": KeyCase(
        "kucoin", KUCOIN_SPOT, "ip_not_allowed", "ip_whitelist", NONE_KNOWN, ip_whitelist=("10.9.8.7",)
    ),
    "mexc-no-read": KeyCase(
        "mexc", ["SPOT_DEAL_READ", "SPOT_DEAL_WRITE"], "no_read_permission", "read", {**_SPOT_ONLY_MEXC, "read": False}
    ),
    "kucoin-no-read": KeyCase("kucoin", ["Spot"], "no_read_permission", "read", {**_SPOT_ONLY_KUCOIN, "read": False}),
    "mexc-no-trade": KeyCase(
        "mexc", ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ"], "no_trade_permission", "trade", {**_SPOT_ONLY_MEXC, "trade": False}
    ),
    "kucoin-no-trade": KeyCase("kucoin", ["General"], "no_trade_permission", "trade", {**_SPOT_ONLY_KUCOIN, "trade": False}),
    "mexc-futures-not-granted": KeyCase(
        "mexc", MEXC_SPOT, "no_futures_permission", "futures", _SPOT_ONLY_MEXC, markets=("spot", "futures")
    ),
    "kucoin-futures-not-granted": KeyCase(
        "kucoin", KUCOIN_SPOT, "no_futures_permission", "futures", _SPOT_ONLY_KUCOIN, markets=("spot", "futures")
    ),
    "mexc-withdraw-enabled": KeyCase(
        "mexc", [*MEXC_SPOT, "SPOT_WITHDRAW_WRITE"], "withdraw_enabled", "withdraw_disabled", {**_SPOT_ONLY_MEXC, "withdraw": True}
    ),
    "kucoin-withdraw-enabled": KeyCase(
        "kucoin", [*KUCOIN_SPOT, "Transfer"], "withdraw_enabled", "withdraw_disabled", {**_SPOT_ONLY_KUCOIN, "withdraw": True}
    ),
}


def _typed(case: KeyCase, creds: dict[str, str]) -> dict[str, str]:
    if case.typed == "unknown_key":
        return {**creds, "api_key": f"e2eunknown{secrets.token_hex(8)}"}
    if case.typed == "bad_secret":
        return {**creds, "secret": f"wrong{secrets.token_hex(16)}"}
    if case.typed == "bad_passphrase":
        return {**creds, "passphrase": "wrong-" + creds["passphrase"]}
    return creds


@pytest.mark.parametrize("case", list(KEY_CASES.values()), ids=list(KEY_CASES))
async def test_every_key_problem_fails_with_its_code_cause_remedy_and_check(
    case: KeyCase, alice: Trader, sim: SimControl, events: Events
) -> None:
    creds = await sim.new_key(case.exchange, case.permissions, ip_whitelist=case.ip_whitelist)
    view = await alice.verdict((await alice.add(case.exchange, _typed(case, creds), markets=case.markets))["id"])

    last = assert_failed(view, case.code)
    assert last["next_retry_at"] is None and last["attempt"] == 1, "a key problem is never retried"
    assert last["permissions"] == case.seen
    assert last["ip_restricted"] is case.ip_restricted
    checks = checks_of(view)
    assert checks[case.failed_check] == "failed"
    assert [n for n, s in checks.items() if s == "failed"] == [case.failed_check]
    assert checks["exchange_status"] == "ok", "the exchange was reached: the key is to blame"
    if case.blocks:
        assert {checks[n] for n in ("read", "trade", "withdraw_disabled")} == {"skipped"}
    else:
        assert checks["api_key"] == "ok"
    if "futures" not in case.markets:
        assert checks["futures"] == "skipped"
    # The verdict went out on the bus too (the alerter's input), with the same code.
    failed = await events.settled(view["id"], subjects.TEST_FAILED, 1)
    assert [e["result"]["error"]["code"] for e in failed] == [case.code]


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_a_good_key_with_futures_and_a_whitelist_is_online_with_every_check_ok(
    exchange: str, alice: Trader, sim: SimControl
) -> None:
    creds = await sim.new_key(exchange, MEXC_FUTURES if exchange == "mexc" else KUCOIN_FUTURES)
    view = await alice.verdict((await alice.add(exchange, creds, markets=("spot", "futures")))["id"])

    last = view["last_test"]
    assert view["status"] == "online", last
    assert last["error"] is None and last["next_retry_at"] is None
    assert last["permissions"] == {"read": True, "trade": True, "withdraw": False, "futures": True}
    assert last["ip_restricted"] is True
    assert set(checks_of(view).values()) == {"ok"}
    assert last["warnings"] == [] and view["warnings"] == []


# ----------------------------------------------------------------------------- withdrawal


async def test_a_withdraw_enabled_key_stays_failed_even_when_the_user_attests(
    alice: Trader, sim: SimControl, events: Events
) -> None:
    creds = await sim.new_key("mexc", [*MEXC_SPOT, "SPOT_WITHDRAW_WRITE"])
    cid = (await alice.add("mexc", creds))["id"]
    assert_failed(await alice.verdict(cid), "withdraw_enabled")

    r = await alice.call("POST", f"/connections/{cid}/attestations", json={"withdraw_disabled": True})
    assert r.status_code == 200, r.text
    after = await alice.verdict(cid)

    # An attestation cannot overrule what the exchange said: the key can withdraw.
    last = assert_failed(after, "withdraw_enabled")
    assert after["withdraw_attested"] is True and last["test_id"] == r.json()["current_test"]["test_id"]
    assert last["permissions"]["withdraw"] is True
    failed = await events.settled(cid, subjects.TEST_FAILED, 2)
    assert [e["result"]["error"]["code"] for e in failed] == ["withdraw_enabled"] * 2
    assert events.of(cid, subjects.TEST_PASSED) == []


async def test_mexc_withdraw_unknown_is_online_only_after_the_attestation(alice: Trader, sim: SimControl) -> None:
    # apiKeyInfo is UNCONFIRMED on the real MEXC: without it nothing can tell about withdrawal.
    await sim.settings("mexc", api_key_info_supported=False)
    try:
        creds = await sim.new_key("mexc", MEXC_SPOT)
        cid = (await alice.add("mexc", creds))["id"]
        before = await alice.verdict(cid)
        last = assert_failed(before, "withdraw_unconfirmed")
        assert last["permissions"] == {"read": True, "trade": True, "withdraw": None, "futures": None}
        assert last["next_retry_at"] is None
        assert checks_of(before)["withdraw_disabled"] == "failed"
        assert before["withdraw_attested"] is False

        r = await alice.call("POST", f"/connections/{cid}/attestations", json={"withdraw_disabled": True})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "testing" and r.json()["attestation"]["withdraw_disabled"] is True
        after = await alice.verdict(cid)
    finally:
        await sim.settings("mexc", api_key_info_supported=True)

    assert after["status"] == "online", after["last_test"]
    assert after["last_test"]["permissions"]["withdraw"] is None, "still unknown: the user vouched for it"
    assert checks_of(after)["withdraw_disabled"] == "ok"
    assert after["withdraw_attested"] is True and after["attestation"]["at"]


# ----------------------------------------------------------------------------- warnings


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_no_ip_whitelist_is_online_with_a_warning_listing_the_egress_ips(
    exchange: str, alice: Trader, sim: SimControl
) -> None:
    creds = await sim.new_key(exchange, GOOD[exchange], ip_whitelist=())
    view = await alice.verdict((await alice.add(exchange, creds))["id"])

    assert view["status"] == "online", view["last_test"]
    last = view["last_test"]
    assert last["ip_restricted"] is False
    assert checks_of(view)["ip_whitelist"] == "warning"
    [warning] = [w for w in last["warnings"] if w["code"] == "no_ip_whitelist"]
    assert warning["egress_ips"] == list(EGRESS_IPS)
    assert all(ip in warning["remedy"] for ip in EGRESS_IPS), warning
    assert "no_ip_whitelist" in codes(view["warnings"])


async def test_a_mexc_key_expiring_soon_warns_with_the_days_left(alice: Trader, sim: SimControl) -> None:
    creds = await sim.new_key("mexc", MEXC_SPOT, expires_in_days=5)
    view = await alice.verdict((await alice.add("mexc", creds))["id"])

    assert view["status"] == "online", view["last_test"]
    last = view["last_test"]
    assert last["key_expires_in_days"] == 5
    [warning] = [w for w in last["warnings"] if w["code"] == "key_expiring"]
    assert warning["days_left"] == 5 and "5" in warning["message"]
    assert codes(last["warnings"]) == ["key_expiring"], "whitelisted and confirmed: nothing else to say"


async def test_the_same_key_in_two_connections_warns_on_both(
    alice: Trader, bob: Trader, sim: SimControl
) -> None:
    creds = await sim.new_key("mexc", MEXC_SPOT)
    first = (await alice.add("mexc", creds, name="Reuse first"))["id"]
    assert (await alice.verdict(first))["status"] == "online"
    second = (await alice.add("mexc", creds, name="Reuse second"))["id"]
    newer = await alice.verdict(second)

    assert newer["status"] == "online", "a reused key is a warning, not a failure"
    assert "key_reused" in codes(newer["last_test"]["warnings"])
    assert codes(newer["warnings"]) == ["key_reused"]
    older = await alice.get(first)
    assert older["status"] == "online" and codes(older["warnings"]) == ["key_reused"]

    # Another account connects the same key: each side only learns "connected elsewhere".
    bobs = (await bob.add("mexc", creds, name="Bob's"))["id"]
    assert codes((await bob.verdict(bobs))["warnings"]) == ["key_reused_elsewhere"]
    assert codes((await alice.get(first))["warnings"]) == ["key_reused_elsewhere"]
    # Only one user left on the key again: the warnings follow.
    assert (await bob.call("DELETE", f"/connections/{bobs}")).status_code == 204
    assert codes((await alice.get(first))["warnings"]) == ["key_reused"]
    assert (await alice.call("DELETE", f"/connections/{second}")).status_code == 204
    assert (await alice.get(first))["warnings"] == []


# ----------------------------------------------------------------------------- exchange trouble


@dataclass(frozen=True)
class Trouble:
    conditions: dict[str, Any]
    code: str


TROUBLE: dict[str, Trouble] = {
    "maintenance": Trouble({"maintenance": True}, "exchange_unavailable"),
    "http-5xx": Trouble({"http_5xx": 502}, "exchange_unavailable"),
    "rate-limited": Trouble({"rate_limit": {"retry_after_s": 2}}, "rate_limited"),
    "clock-skew": Trouble({"clock_skew_ms": 60_000}, "clock_skew"),
    "hung": Trouble({"hang": True}, "exchange_unavailable"),
}
OFF = {"maintenance": False, "http_5xx": None, "rate_limit": None, "clock_skew_ms": 0, "hang": False}


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize("trouble", list(TROUBLE), ids=list(TROUBLE))
async def test_exchange_trouble_is_a_retryable_code_with_next_retry_at(
    trouble: str, exchange: str, alice: Trader, sim: SimControl
) -> None:
    case = TROUBLE[trouble]
    creds = await sim.new_key(exchange, GOOD[exchange], conditions=case.conditions)
    try:
        cid = (await alice.add(exchange, creds))["id"]
        view = await alice.wait_for(
            cid, lambda b: bool(b["last_test"] and b["last_test"]["error"]), f"a first verdict ({case.code})"
        )
    finally:
        await sim.patch_key(exchange, creds["api_key"], conditions=OFF)  # also frees hung requests

    last = view["last_test"]
    assert last["status"] == "failed" and last["error"]["code"] == case.code, last
    assert last["error"]["cause"] and last["error"]["remedy"]
    assert last["error"]["remedy"] == TEXTS[ErrorCode(case.code)][1]
    assert last["attempt"] == 1 and last["next_retry_at"] is not None
    delay = seconds_between(last["finished_at"], last["next_retry_at"])
    checks = checks_of(view)
    assert checks["exchange_status"] == "failed"
    if trouble == "rate-limited":
        assert delay >= 1.9, "the exchange's Retry-After (2 s) is honoured"
        status_detail = next(c["detail"] for c in last["checks"] if c["name"] == "exchange_status")
        assert "retry after 2 s" in status_detail, status_detail
    else:
        assert 0.4 <= delay <= RETRY_CAP_S + 0.1
    assert {checks[n] for n in ("read", "trade", "withdraw_disabled", "ip_whitelist")} == {"skipped"}


async def test_kucoin_status_close_is_exchange_unavailable_and_retried(alice: Trader, sim: SimControl) -> None:
    creds = await sim.new_key("kucoin", KUCOIN_SPOT)
    await sim.conditions("kucoin", maintenance=True)  # /api/v1/status says "close"
    try:
        cid = (await alice.add("kucoin", creds))["id"]
        view = await alice.wait_for(cid, lambda b: bool(b["last_test"]), "a first verdict")
    finally:
        await sim.clear_conditions("kucoin")
    last = view["last_test"]
    assert last["error"]["code"] == "exchange_unavailable" and last["next_retry_at"] is not None, last
    assert checks_of(view)["exchange_status"] == "failed"
    # The exchange is back: the pending retry brings the connection Online by itself.
    online = await alice.wait_for(cid, lambda b: b["status"] == "online", "online after the outage")
    assert online["last_test"]["test_id"] == last["test_id"] and online["last_test"]["attempt"] > 1


# ----------------------------------------------------------------------------- retries


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_exchange_down_then_up_goes_online_without_user_action(
    exchange: str, alice: Trader, sim: SimControl, events: Events
) -> None:
    creds = await sim.new_key(exchange, GOOD[exchange], conditions={"http_5xx": 503})
    try:
        cid = (await alice.add(exchange, creds))["id"]
        down = await alice.wait_for(
            cid, lambda b: bool(b["last_test"] and b["last_test"]["next_retry_at"]), "a failure with a retry pending"
        )
    finally:
        await sim.patch_key(exchange, creds["api_key"], conditions=OFF)
    assert down["last_test"]["error"]["code"] == "exchange_unavailable"

    up = await alice.wait_for(cid, lambda b: b["status"] == "online", "online once the exchange is back")
    last = up["last_test"]
    assert last["test_id"] == down["last_test"]["test_id"], "the same test, retried: nobody asked again"
    assert 1 < last["attempt"] <= MAX_ATTEMPTS and last["next_retry_at"] is None
    started = events.of(cid, subjects.TEST_STARTED)
    assert {e["test_id"] for e in started} == {last["test_id"]}
    assert sorted(e["attempt"] for e in started) == list(range(1, last["attempt"] + 1))


async def test_retries_are_bounded_then_the_failure_stands(
    alice: Trader, sim: SimControl, events: Events
) -> None:
    creds = await sim.new_key("mexc", MEXC_SPOT, conditions={"maintenance": True})
    try:
        cid = (await alice.add("mexc", creds))["id"]
        final = await alice.wait_for(
            cid,
            lambda b: bool(b["status"] == "failed" and b["last_test"] and b["last_test"]["attempt"] == MAX_ATTEMPTS),
            f"attempt {MAX_ATTEMPTS}",
            timeout_s=40,
        )
        last = final["last_test"]
        assert last["error"]["code"] == "exchange_unavailable" and last["next_retry_at"] is None
        # Longer than any retry delay: nothing else runs.
        await asyncio.sleep(RETRY_CAP_S + 1)
        still = await alice.get(cid)
    finally:
        await sim.patch_key("mexc", creds["api_key"], conditions=OFF)
    assert still["status"] == "failed" and still["last_test"] == last
    assert sorted(e["attempt"] for e in events.of(cid, subjects.TEST_STARTED)) == list(range(1, MAX_ATTEMPTS + 1))
    failed = await events.settled(cid, subjects.TEST_FAILED, MAX_ATTEMPTS)
    assert [e["result"]["next_retry_at"] is None for e in failed] == [False] * (MAX_ATTEMPTS - 1) + [True]


# ----------------------------------------------------------------------------- revocation


async def test_a_key_revoked_on_the_exchange_fails_at_the_next_periodic_retest(
    alice: Trader, sim: SimControl, events: Events
) -> None:
    creds = await sim.new_key("mexc", MEXC_SPOT)
    cid = (await alice.add("mexc", creds))["id"]
    online = await alice.verdict(cid)
    assert online["status"] == "online"

    await sim.revoke("mexc", creds["api_key"])
    # No request from the user: the periodic re-test (every RETEST_INTERVAL_S here) finds it.
    failed = await alice.wait_for(cid, lambda b: b["status"] == "failed", "failed after revocation", 4 * RETEST_INTERVAL_S)

    last = assert_failed(failed, "invalid_key")
    assert last["test_id"] != online["last_test"]["test_id"] and last["next_retry_at"] is None
    [event] = await events.settled(cid, subjects.TEST_FAILED, 1)
    assert event["result"]["test_id"] == last["test_id"] and event["result"]["error"]["code"] == "invalid_key"


async def test_a_key_revoked_on_the_exchange_fails_at_the_next_manual_test(
    alice: Trader, sim: SimControl, events: Events
) -> None:
    creds = await sim.new_key("kucoin", KUCOIN_SPOT)
    cid = (await alice.add("kucoin", creds))["id"]
    assert (await alice.verdict(cid))["status"] == "online"

    await sim.revoke("kucoin", creds["api_key"])
    r = await alice.call("POST", f"/connections/{cid}/test")
    assert r.status_code == 202, r.text
    test_id = r.json()["test_id"]
    failed = await alice.wait_for(
        cid, lambda b: b["status"] == "failed" and b["last_test"]["test_id"] == test_id, "the manual test's verdict"
    )
    assert_failed(failed, "invalid_key")
    assert test_id in {e["result"]["test_id"] for e in await events.settled(cid, subjects.TEST_FAILED, 1)}


# ----------------------------------------------------------------------------- key hygiene


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_rotating_the_credentials_fixes_a_failed_connection(exchange: str, alice: Trader, sim: SimControl) -> None:
    creds = await sim.new_key(exchange, GOOD[exchange])
    wrong = {**creds, "secret": "wrong" + secrets.token_hex(16)}
    added = await alice.add(exchange, wrong)
    assert_failed(await alice.verdict(added["id"]), "invalid_key")

    fresh = await sim.new_key(exchange, GOOD[exchange])
    r = await alice.call("PUT", f"/connections/{added['id']}/credentials", json=fresh)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "testing"
    assert r.json()["api_key_masked"] == f"{fresh['api_key'][:4]}…{fresh['api_key'][-4:]}"
    fixed = await alice.verdict(added["id"])

    assert fixed["status"] == "online", fixed["last_test"]
    assert fixed["last_test"]["test_id"] == r.json()["current_test"]["test_id"]
    assert fixed["api_key_masked"] != added["api_key_masked"]


async def test_rename_works_and_duplicate_names_are_refused(alice: Trader, sim: SimControl) -> None:
    suffix = secrets.token_hex(3)
    creds = await sim.new_key("mexc", MEXC_SPOT)
    one = (await alice.add("mexc", creds, name=f"Main {suffix}"))["id"]
    other = (await alice.add("mexc", await sim.new_key("mexc", MEXC_SPOT), name=f"Other {suffix}"))["id"]

    r = await alice.call("PATCH", f"/connections/{one}", json={"name": f"Renamed {suffix}"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == f"Renamed {suffix}"
    assert (await alice.get(one))["name"] == f"Renamed {suffix}"

    r = await alice.call("PATCH", f"/connections/{other}", json={"name": f"RENAMED {suffix}"})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "duplicate_name"
    assert (await alice.get(other))["name"] == f"Other {suffix}"


# ----------------------------------------------------------------------------- language


async def test_accept_language_fr_gives_french_cause_and_remedy(alice: Trader, sim: SimControl) -> None:
    creds = await sim.new_key("mexc", MEXC_SPOT)
    cid = (await alice.add("mexc", {**creds, "secret": "wrong" + secrets.token_hex(16)}))["id"]
    english = assert_failed(await alice.verdict(cid), "invalid_key")["error"]

    french = (await alice.get(cid, lang="fr-FR,fr;q=0.9,en;q=0.5"))["last_test"]["error"]

    assert french["code"] == "invalid_key"
    assert french["cause"] and french["remedy"]
    assert french["cause"] != english["cause"] and french["remedy"] != english["remedy"]
    assert "clé" in french["cause"] and "clé" in french["remedy"]
