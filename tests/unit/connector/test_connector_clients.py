"""The client cache: one Vault read per (connection, secret version), closed on eviction."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from bf_shared.vault import Credentials, SecretNotFound

from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.metrics import ConnectorMetrics

from .fakes import CountingVault, FakeClock, FakeSession, ScriptedVenue, canary_credentials


def _factory(clock: FakeClock, made: list[FakeSession], *, ttl_s: float = 60.0, max_size: int = 10) -> ClientFactory:
    def build(credentials: Credentials) -> FakeSession:
        session = FakeSession(credentials)
        made.append(session)
        return session

    return ClientFactory(
        ScriptedVenue(), ClientOptions(), metrics=ConnectorMetrics(CollectorRegistry()), clock=clock,
        ttl_s=ttl_s, max_size=max_size, build=build,  # type: ignore[arg-type]
    )


async def _vault(*connections: str) -> CountingVault:
    vault = CountingVault()
    for connection in connections:
        await vault.put(connection, canary_credentials())
    return vault


async def _drain() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_cached_session_needs_no_second_vault_read() -> None:
    vault, made = await _vault("c1"), []
    clients = _factory(FakeClock(), made)
    async with clients.lease("c1", 1, vault) as first:
        pass
    async with clients.lease("c1", 1, vault) as second:
        pass
    assert first is second and vault.reads == 1 and len(made) == 1


async def test_each_secret_version_has_its_own_session() -> None:
    vault, made = await _vault("c1"), []
    await vault.put("c1", canary_credentials(passphrase=False))
    clients = _factory(FakeClock(), made)
    async with clients.lease("c1", 1, vault) as v1, clients.lease("c1", 2, vault) as v2:
        assert v1 is not v2
        assert v1.credentials is not None and v1.credentials.passphrase is not None  # type: ignore[attr-defined]
        assert v2.credentials is not None and v2.credentials.passphrase is None  # type: ignore[attr-defined]


async def test_concurrent_first_requests_share_one_vault_read() -> None:
    vault, made = await _vault("c1"), []
    vault.gate = asyncio.Event()
    clients = _factory(FakeClock(), made)

    async def use() -> object:
        async with clients.lease("c1", None, vault) as session:
            return session

    tasks = [asyncio.create_task(use()) for _ in range(5)]
    await _drain()
    vault.gate.set()
    sessions = await asyncio.gather(*tasks)
    assert vault.reads == 1 and len({id(s) for s in sessions}) == 1


async def test_evict_closes_idle_sessions_and_forces_a_fresh_read() -> None:
    vault, made = await _vault("c1", "c2"), []
    clients = _factory(FakeClock(), made)
    async with clients.lease("c1", None, vault):
        pass
    async with clients.lease("c2", None, vault):
        pass
    assert clients.evict("c1") == 1
    await _drain()
    assert made[0].closed == 1 and made[1].closed == 0
    async with clients.lease("c1", None, vault):
        pass
    assert vault.reads == 3


async def test_a_session_in_use_is_closed_only_after_its_last_user() -> None:
    vault, made = await _vault("c1"), []
    clients = _factory(FakeClock(), made)
    async with clients.lease("c1", None, vault):
        clients.evict("c1")
        await _drain()
        assert made[0].closed == 0
    await _drain()
    assert made[0].closed == 1


async def test_idle_sessions_expire_after_the_ttl() -> None:
    clock, vault, made = FakeClock(), await _vault("c1", "c2"), []
    clients = _factory(clock, made, ttl_s=60)
    async with clients.lease("c1", None, vault):
        pass
    clock.advance(61)
    async with clients.lease("c2", None, vault):  # any access sweeps
        pass
    await _drain()
    assert made[0].closed == 1 and len(clients) == 1


async def test_least_recently_used_goes_first_when_full() -> None:
    vault, made = await _vault("a", "b", "c"), []
    clients = _factory(FakeClock(), made, max_size=2)
    for connection in ("a", "b", "a", "c"):
        async with clients.lease(connection, None, vault):
            pass
    await _drain()
    assert [s.closed for s in made] == [0, 1, 0]


async def test_a_load_overtaken_by_an_eviction_is_served_but_not_cached() -> None:
    vault, made = await _vault("c1"), []
    vault.gate = asyncio.Event()
    clients = _factory(FakeClock(), made)

    async def use() -> None:
        async with clients.lease("c1", None, vault):
            pass

    task = asyncio.create_task(use())
    await _drain()
    clients.evict("c1")  # e.g. credentials rotated while Vault was answering
    vault.gate.set()
    await task
    await _drain()
    assert len(clients) == 0 and made[0].closed == 1


async def test_a_missing_secret_propagates_and_nothing_is_cached() -> None:
    vault, made = await _vault(), []
    clients = _factory(FakeClock(), made)
    with pytest.raises(SecretNotFound):
        async with clients.lease("gone", None, vault):
            pass
    with pytest.raises(SecretNotFound):
        async with clients.lease("not a valid id!", None, vault):
            pass
    assert len(clients) == 0 and made == []


async def test_aclose_closes_everything() -> None:
    vault, made = await _vault("a", "b"), []
    clients = _factory(FakeClock(), made)
    for connection in ("a", "b"):
        async with clients.lease(connection, None, vault):
            pass
    await clients.aclose()
    assert [s.closed for s in made] == [1, 1]
