"""Conformance: every venue answers the same probe scenarios the same way, against the simulator.

``VenueConformance`` holds the scenarios; each venue subclasses it with its exchange id and the
simulator's demo keys for each role. The probes run through the real ``handle_probe`` with a
real ``ClientFactory`` (ccxt, hooked) and the in-memory ``FakeVault`` (the real-Vault path is
covered end to end elsewhere). Simulator conditions are set through its admin API.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_shared.codes import ErrorCode
from bf_shared.messages import Market, ProbeName, ProbeReply, ProbeRequest
from bf_shared.vault import Credentials, FakeVault
from bf_sim import SimServer, demo_config
from bf_sim.config import KeyConfig

from bf_connector.clock import SystemClock
from bf_connector.exchanges import venue_for
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.handlers import handle_probe
from bf_connector.metrics import ConnectorMetrics

BOTH: tuple[Market, ...] = ("spot", "futures")
PROBE_TIMEOUT_S = 1.5


class Sim:
    """One simulated exchange: its origin, admin API and demo keys."""

    def __init__(self, server: SimServer, exchange: str, http: aiohttp.ClientSession) -> None:
        self.origin = server.mexc_url if exchange == "mexc" else server.kucoin_url
        self.exchange = exchange
        self._http = http
        config = server.config.mexc if exchange == "mexc" else server.config.kucoin
        self.keys: dict[str, KeyConfig] = {k.label or k.api_key: k for k in config.keys}

    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self._http.request(method, self.origin + path, json=body) as resp:
            assert resp.status < 300, await resp.text()
            return await resp.json() if resp.status != 204 else None

    async def conditions(self, **fields: Any) -> None:
        await self.admin("PATCH", "/__sim/conditions", fields)

    async def requests(self, **query: str) -> list[dict[str, Any]]:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        result = await self.admin("GET", f"/__sim/requests?{qs}")
        return list(result["requests"])


class VenueConformance:
    """The scenarios. Subclasses set ``exchange`` and map roles to demo key labels in ``keys``."""

    exchange: ClassVar[str]
    keys: ClassVar[dict[str, str]]  # good, withdraw, read_only, no_futures, ip_blocked

    @pytest.fixture
    async def sim(self) -> AsyncIterator[Sim]:
        async with SimServer(demo_config()) as server, aiohttp.ClientSession() as http:
            yield Sim(server, self.exchange, http)

    async def probe(
        self,
        sim: Sim,
        role: str,
        markets: tuple[Market, ...] = BOTH,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        passphrase: str | None = None,
    ) -> ProbeReply:
        key = sim.keys[self.keys[role]]
        vault = FakeVault()
        await vault.put(
            "conn1",
            Credentials(
                api_key=SecretStr(api_key or key.api_key),
                secret=SecretStr(secret) if secret else key.secret,
                passphrase=SecretStr(passphrase) if passphrase else key.passphrase,
            ),
        )
        clients = ClientFactory(
            venue_for(self.exchange),
            ClientOptions(enable_rate_limit=False, timeout_s=5.0, origin=sim.origin),
            metrics=_metrics(),
            clock=SystemClock(),
        )
        try:
            return await handle_probe(
                ProbeRequest(test_id="t1", connection_id="conn1", exchange=self.exchange, markets=markets),
                reader=vault,
                clients=clients,
                clock=SystemClock(),
                timeout_s=PROBE_TIMEOUT_S,
            )
        finally:
            await clients.aclose()

    # -- keys -------------------------------------------------------------------------------

    async def test_good_key_passes_every_probe(self, sim: Sim) -> None:
        reply = await self.probe(sim, "good")
        assert reply.error is None
        assert {o.name for o in reply.outcomes} == set(ProbeName)
        assert [o.error for o in reply.outcomes if not o.ok] == []
        p = reply.key.permissions
        assert (p.read, p.trade, p.withdraw, p.futures) == (True, True, False, True)
        assert reply.key.ip_restricted is True and reply.key.source == "introspection"

    async def test_withdraw_enabled_key_reports_withdraw(self, sim: Sim) -> None:
        reply = await self.probe(sim, "withdraw")
        assert reply.key.permissions.withdraw is True

    async def test_read_only_key_cannot_trade(self, sim: Sim) -> None:
        reply = await self.probe(sim, "read_only")
        assert reply.key.permissions.read is True and reply.key.permissions.trade is False
        trade = _outcome(reply, ProbeName.TRADE)
        assert not trade.ok and trade.error is not None and trade.error.code == "permission_denied"
        assert _outcome(reply, ProbeName.CREDENTIALS).ok

    async def test_key_without_futures_rights(self, sim: Sim) -> None:
        reply = await self.probe(sim, "no_futures")
        assert reply.key.permissions.futures is False
        assert reply.key.permissions.trade is True

    async def test_spot_only_connection_does_not_touch_futures(self, sim: Sim) -> None:
        reply = await self.probe(sim, "good", markets=("spot",))
        assert ProbeName.FUTURES_BALANCE not in {o.name for o in reply.outcomes}
        assert all(o.ok for o in reply.outcomes)

    async def test_wrong_secret_is_invalid_key(self, sim: Sim) -> None:
        reply = await self.probe(sim, "good", secret="0123456789abcdef0123456789abcdef")
        _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.INVALID_KEY)

    async def test_unknown_key_is_invalid_key(self, sim: Sim) -> None:
        reply = await self.probe(sim, "good", api_key="nosuchkey0123456789")
        _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.INVALID_KEY)

    async def test_ip_not_whitelisted(self, sim: Sim) -> None:
        reply = await self.probe(sim, "ip_blocked")
        _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.IP_NOT_ALLOWED)
        assert _outcome(reply, ProbeName.EXCHANGE_STATUS).ok

    # -- exchange conditions ------------------------------------------------------------------

    async def test_maintenance_is_exchange_unavailable(self, sim: Sim) -> None:
        await sim.conditions(maintenance=True)
        reply = await self.probe(sim, "good")
        _assert_code(reply, ProbeName.EXCHANGE_STATUS, ErrorCode.EXCHANGE_UNAVAILABLE)
        _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.EXCHANGE_UNAVAILABLE)

    async def test_gateway_5xx_is_exchange_unavailable(self, sim: Sim) -> None:
        await sim.conditions(http_5xx=502)
        reply = await self.probe(sim, "good")
        for outcome in reply.outcomes:
            assert outcome.error is not None and outcome.error.code == ErrorCode.EXCHANGE_UNAVAILABLE, outcome

    async def test_throttling_is_rate_limited_with_retry_after(self, sim: Sim) -> None:
        await sim.conditions(rate_limit={"retry_after_s": 7})
        reply = await self.probe(sim, "good")
        error = _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.RATE_LIMITED)
        assert error.retry_after_s == 7.0

    async def test_clock_skew(self, sim: Sim) -> None:
        await sim.conditions(clock_skew_ms=60_000)
        reply = await self.probe(sim, "good")
        _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.CLOCK_SKEW)
        assert _outcome(reply, ProbeName.EXCHANGE_STATUS).ok  # public calls carry no timestamp

    async def test_hung_exchange_is_unavailable_within_the_probe_timeout(self, sim: Sim) -> None:
        await sim.conditions(hang=True)
        started = time.monotonic()
        reply = await self.probe(sim, "good")
        elapsed = time.monotonic() - started
        for outcome in reply.outcomes:
            assert outcome.error is not None and outcome.error.code == ErrorCode.EXCHANGE_UNAVAILABLE
            assert outcome.duration_ms <= PROBE_TIMEOUT_S * 1000 + 500
        # Six probes in sequence would take six timeouts; concurrently they take one.
        assert elapsed < PROBE_TIMEOUT_S * 3

    # -- safety -------------------------------------------------------------------------------

    async def test_no_call_changes_the_account(self, sim: Sim) -> None:
        await self.probe(sim, "good")
        calls = await sim.requests()
        assert calls, "the simulator must have logged the probe's requests"
        writes = {(c["method"], c["path"]) for c in calls if c["method"] != "GET"}
        assert writes <= self.allowed_writes, writes

    allowed_writes: ClassVar[set[tuple[str, str]]] = set()


class TestMexc(VenueConformance):
    exchange = "mexc"
    keys = {
        "good": "mexc-trade-ip",
        "withdraw": "mexc-withdraw",
        "read_only": "mexc-read-only",
        "no_futures": "mexc-no-futures",
        "ip_blocked": "mexc-ip-blocked",
        "no_ip": "mexc-trade-noip",
        "expired": "mexc-expired",
    }
    allowed_writes = {("POST", "/api/v3/order/test")}

    async def test_without_api_key_info_withdraw_is_unknown_never_safe(self, sim: Sim) -> None:
        await sim.admin("PATCH", "/__sim/settings", {"api_key_info_supported": False})
        reply = await self.probe(sim, "withdraw")
        assert _outcome(reply, ProbeName.PERMISSIONS).ok
        p = reply.key.permissions
        assert reply.key.source == "inferred"
        assert p.withdraw is None  # the account says canWithdraw: true, which proves nothing
        assert (p.read, p.trade) == (True, True)  # from the balance read and the test order
        assert p.futures is None  # a readable futures balance is not a futures right

    async def test_key_without_ip_reports_its_remaining_validity(self, sim: Sim) -> None:
        reply = await self.probe(sim, "no_ip")
        assert reply.key.ip_restricted is False and reply.key.expires_in_days == 90

    async def test_expired_key_is_invalid_key(self, sim: Sim) -> None:
        reply = await self.probe(sim, "expired")
        _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.INVALID_KEY)

    async def test_account_is_read_once_for_credentials_and_balance(self, sim: Sim) -> None:
        await self.probe(sim, "good")
        assert len(await sim.requests(path="/api/v3/account")) == 1


class TestKucoin(VenueConformance):
    exchange = "kucoin"
    keys = {
        "good": "kucoin-trade-ip",
        "withdraw": "kucoin-withdraw",
        "read_only": "kucoin-read-only",
        "no_futures": "kucoin-no-futures",
        "ip_blocked": "kucoin-ip-blocked",
        "no_ip": "kucoin-trade-noip",
    }
    allowed_writes = {("POST", "/api/v1/hf/orders/test"), ("POST", "/api/v1/orders/test")}

    async def test_wrong_passphrase_is_invalid_passphrase(self, sim: Sim) -> None:
        reply = await self.probe(sim, "good", passphrase="not-the-passphrase")
        _assert_code(reply, ProbeName.CREDENTIALS, ErrorCode.INVALID_PASSPHRASE)

    async def test_key_without_ip_whitelist(self, sim: Sim) -> None:
        reply = await self.probe(sim, "no_ip")
        assert reply.key.ip_restricted is False and reply.key.expires_in_days is None


def _metrics() -> ConnectorMetrics:
    return ConnectorMetrics(CollectorRegistry())


def _outcome(reply: ProbeReply, name: ProbeName) -> Any:
    return next(o for o in reply.outcomes if o.name == name)


def _assert_code(reply: ProbeReply, name: ProbeName, code: ErrorCode) -> Any:
    assert reply.error is None, reply.error
    outcome = _outcome(reply, name)
    assert not outcome.ok and outcome.error is not None, outcome
    assert outcome.error.code == code, outcome.error
    return outcome.error
