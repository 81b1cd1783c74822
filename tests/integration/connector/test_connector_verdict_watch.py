"""The order guard's inputs on real servers: verdicts through a real NATS KV bucket (the tester's
store writing, the connector's watch reading) and the key version a real OpenBao reports."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue
from pydantic import SecretStr

from bf_launch.vault_bootstrap import VaultAccess
from bf_shared.bus import kv_bucket
from bf_shared.codes import ErrorCode
from bf_shared.messages import ConnectionVerdict
from bf_shared.vault import Credentials, HvacVault

from bf_connector.adapters.kv_verdicts import KvVerdicts
from bf_tester.adapters.kv_verdicts import KvVerdictStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def verdict(connection_id: str, version: int = 1, status: str = "passed",
            code: ErrorCode | None = None) -> ConnectionVerdict:
    return ConnectionVerdict(connection_id=connection_id, test_id="t-" + secrets.token_hex(4), secret_version=version,
                             status=status, code=code, decided_at=T0)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def bucket(nats_connection: NatsClient) -> AsyncIterator[KeyValue]:
    js = nats_connection.jetstream()
    name = "test_verdicts_" + secrets.token_hex(4)
    yield await kv_bucket(js, name)
    await js.delete_key_value(name)


async def until(check: object, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def test_the_watch_loads_what_the_tester_stored_and_follows_every_change(bucket: KeyValue) -> None:
    store = KvVerdictStore(bucket)
    _, revision = await store.read("c1")
    assert await store.write(verdict("c1", 1), revision)
    watched = KvVerdicts()
    assert not watched.loaded
    await watched.start(bucket)
    try:
        await until(lambda: watched.loaded)
        assert watched.get("c1") == (await store.read("c1"))[0]

        failed = verdict("c1", 1, "failed", ErrorCode.WITHDRAW_ENABLED)
        assert await store.write(failed, (await store.read("c1"))[1])
        await until(lambda: watched.get("c1") == failed)

        await store.delete("c1")
        await until(lambda: watched.get("c1") is None)
        assert await watched.refresh("c1") is None

        again = verdict("c1", 2)  # written over the tombstone, against its revision
        _, tombstone = await store.read("c1")
        assert tombstone > 0 and await store.write(again, tombstone)
        await until(lambda: watched.get("c1") == again)
    finally:
        await watched.stop()
    assert not watched.loaded  # stopped: placements are refused again


async def test_an_empty_bucket_loads_at_once(bucket: KeyValue) -> None:
    watched = KvVerdicts()
    await watched.start(bucket)
    try:
        await until(lambda: watched.loaded)
        assert watched.get("c1") is None
    finally:
        await watched.stop()


async def test_refresh_reads_the_bucket_not_the_watched_copy(bucket: KeyValue) -> None:
    watched = KvVerdicts()
    await watched.start(bucket)
    try:
        await until(lambda: watched.loaded)
        stored = verdict("c2", 3)
        assert await KvVerdictStore(bucket).write(stored, 0)
        assert await watched.refresh("c2") == stored
    finally:
        await watched.stop()


async def test_writes_are_compare_and_set(bucket: KeyValue) -> None:
    store = KvVerdictStore(bucket)
    assert await store.write(verdict("c3", 1), 0)
    assert not await store.write(verdict("c3", 2), 0)  # not absent any more
    held, revision = await store.read("c3")
    assert held is not None and held.secret_version == 1
    assert await store.write(verdict("c3", 2), revision)
    assert not await store.write(verdict("c3", 3), revision)  # moved on meanwhile
    final, _ = await store.read("c3")
    assert final is not None and final.secret_version == 2


async def test_openbao_tells_the_connector_which_key_version_it_reads(vault_server: VaultAccess) -> None:
    gateway = HvacVault(vault_server.settings("gateway"))
    connector = HvacVault(vault_server.settings("connector"))
    cid = "verdict-" + secrets.token_hex(6)
    first = Credentials(api_key=SecretStr("versionKEY0001"), secret=SecretStr("versionSECRET0001"))
    second = Credentials(api_key=SecretStr("versionKEY0002"), secret=SecretStr("versionSECRET0002"))
    try:
        assert await gateway.put(cid, first) == 1
        assert (await connector.read(cid)).version == 1
        assert await gateway.put(cid, second) == 2
        latest = await connector.read(cid)
        assert latest.version == 2 and latest.api_key.get_secret_value() == "versionKEY0002"
        assert (await connector.read(cid, 1)).version == 1
    finally:
        await gateway.destroy(cid)
