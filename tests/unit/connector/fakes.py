"""Hand-written fakes for the connector's unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt.async_support as ccxt_async
from pydantic import SecretStr

from bf_shared.messages import ProbeError
from bf_shared.vault import Credentials, FakeVault

from bf_connector.domain.facts import Introspection, PermissionReport
from bf_connector.errors import RawResponse, classify_response
from bf_connector.exchanges.base import Capabilities, RunContext, Venue

#: Canary credentials: if any of these strings shows up anywhere it must not, a test fails.
CANARY_KEY = "canaryKEY0123456789abcdef"
CANARY_SECRET = "canarySECRET-9f8e7d6c5b4a3210"
CANARY_PASSPHRASE = "canaryPASSPHRASE-42"
CANARIES = (CANARY_KEY, CANARY_SECRET, CANARY_PASSPHRASE)


def canary_credentials(passphrase: bool = True) -> Credentials:
    return Credentials(
        api_key=SecretStr(CANARY_KEY),
        secret=SecretStr(CANARY_SECRET),
        passphrase=SecretStr(CANARY_PASSPHRASE) if passphrase else None,
    )


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.mono = 1000.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


class CountingVault(FakeVault):
    """FakeVault that counts reads and can make them wait on an event."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def read(self, connection_id: str, version: int | None = None) -> Credentials:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        return await super().read(connection_id, version)


class FakeSession:
    """Stands in for a VenueSession where no exchange is called."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.credentials = credentials
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


Probe = Callable[[RunContext], Awaitable[Any]]


async def _ok(ctx: RunContext) -> None:
    return None


class ScriptedVenue(Venue):
    """A venue whose probes are plain functions set by the test (no ccxt calls)."""

    id = "mexc"
    capabilities = Capabilities(futures=True, introspection="confirmed", spot_test_order=True, futures_test_order=True)
    spot_class = ccxt_async.mexc

    def __init__(self, **probes: Probe) -> None:
        self.probes: dict[str, Probe] = probes

    def _run(self, name: str, ctx: RunContext) -> Awaitable[Any]:
        return self.probes.get(name, _ok)(ctx)

    def classify(self, raw: RawResponse, *, now: float, secrets: tuple[str, ...]) -> ProbeError:
        return classify_response(raw, exchange_code=None, message=None, table={}, now=now, secrets=secrets)

    async def exchange_status(self, ctx: RunContext) -> None:
        await self._run("exchange_status", ctx)

    async def signed_check(self, ctx: RunContext) -> None:
        await self._run("signed_check", ctx)

    async def read_balance(self, ctx: RunContext) -> None:
        await self._run("read_balance", ctx)

    async def permissions(self, ctx: RunContext) -> PermissionReport:
        if "permissions" in self.probes:
            result: PermissionReport = await self.probes["permissions"](ctx)
            return result
        return PermissionReport(introspection=Introspection(read=True, trade=True, withdraw=False, futures=True))

    async def trade(self, ctx: RunContext) -> None:
        await self._run("trade", ctx)

    async def futures_balance(self, ctx: RunContext) -> None:
        await self._run("futures_balance", ctx)

    async def futures_trade(self, ctx: RunContext) -> bool | None:
        if "futures_trade" in self.probes:
            result: bool | None = await self.probes["futures_trade"](ctx)
            return result
        return None
