"""When Vault, the KV store or the bus fails mid-way: 503, and nothing is left half-stored."""

from __future__ import annotations

import httpx
import pytest

from bf_shared import subjects
from bf_shared.vault import Credentials, FakeVault, VaultUnavailable

from bf_gateway.bootstrap import create_app
from bf_gateway.testing import InMemoryGateway

from .conftest import API, SECRET, Headers, mexc_body, nothing_about_connections_stored


async def test_vault_down_on_add_is_503_and_nothing_is_stored(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    gw.vault.available = False

    r = await client.post(f"{API}/connections", headers=alice, json=mexc_body())

    assert r.status_code == 503
    assert r.json()["error"]["code"] == "unavailable" and r.headers["retry-after"] == "5"
    assert SECRET not in r.text
    assert nothing_about_connections_stored(gw)


async def test_kv_failing_after_the_vault_write_destroys_the_secret(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    gw.connections_kv.fail_writes = True

    r = await client.post(f"{API}/connections", headers=alice, json=mexc_body())

    assert r.status_code == 503
    assert nothing_about_connections_stored(gw)


async def test_fingerprint_write_failing_undoes_the_view_and_the_secret(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    gw.fingerprints_kv.fail_writes = True

    r = await client.post(f"{API}/connections", headers=alice, json=mexc_body())

    assert r.status_code == 503
    assert nothing_about_connections_stored(gw)


async def test_bus_failing_after_the_added_event_undoes_everything_and_announces_the_deletion(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    gw.publisher.fail_on.add(subjects.TEST_REQUESTED)

    r = await client.post(f"{API}/connections", headers=alice, json=mexc_body())

    assert r.status_code == 503
    assert not gw.vault.versions and not gw.connections_kv.data and not gw.fingerprints_kv.data
    assert gw.publisher.subjects() == [subjects.CONNECTION_ADDED, subjects.CONNECTION_DELETED]
    added, deleted = (m for _, m in gw.publisher.published)
    assert deleted.connection_id == added.connection_id  # type: ignore[attr-defined]


async def test_after_a_503_the_same_request_succeeds(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    gw.publisher.fail_on.add("*")
    assert (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).status_code == 503
    gw.publisher.fail_on.clear()

    r = await client.post(f"{API}/connections", headers=alice, json=mexc_body())

    assert r.status_code == 201  # the failed attempt left no name behind
    assert len(gw.vault.versions) == 1


async def test_vault_down_on_delete_keeps_the_connection_so_the_user_can_retry(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()["id"]
    gw.vault.available = False

    failed = await client.delete(f"{API}/connections/{cid}", headers=alice)
    gw.vault.available = True
    retried = await client.delete(f"{API}/connections/{cid}", headers=alice)

    assert failed.status_code == 503 and retried.status_code == 204
    assert not gw.vault.versions and not gw.connections_kv.data
    assert gw.publisher.subjects().count(subjects.CONNECTION_DELETED) == 1


async def test_bus_down_on_delete_keeps_the_view_for_a_retry(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()["id"]
    gw.publisher.fail_on.add(subjects.CONNECTION_DELETED)

    failed = await client.delete(f"{API}/connections/{cid}", headers=alice)
    gw.publisher.fail_on.clear()
    retried = await client.delete(f"{API}/connections/{cid}", headers=alice)

    assert failed.status_code == 503 and retried.status_code == 204
    assert gw.publisher.subjects().count(subjects.CONNECTION_DELETED) == 1
    assert not gw.connections_kv.data


async def test_vault_down_on_rotate_changes_nothing(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()["id"]
    view_before = dict(gw.connections_kv.data)
    gw.vault.available = False

    r = await client.put(f"{API}/connections/{cid}/credentials", headers=alice, json={"api_key": "mx0vglNEWKEY00001111", "secret": "NEW-SECRET-000000"})

    assert r.status_code == 503
    assert gw.connections_kv.data == view_before
    assert len(gw.vault.versions[f"connections/{cid}"]) == 1


async def test_bus_down_on_manual_test_changes_nothing(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=mexc_body())).json()["id"]
    gw.clock.advance(minutes=1)
    view_before = dict(gw.connections_kv.data)
    gw.publisher.fail_on.add(subjects.TEST_REQUESTED)

    r = await client.post(f"{API}/connections/{cid}/test", headers=alice)

    assert r.status_code == 503
    assert gw.connections_kv.data == view_before


async def test_kv_down_on_read_is_503(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    gw.connections_kv.fail_reads = True

    r = await client.get(f"{API}/connections", headers=alice)

    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"


async def test_the_user_store_down_is_503_not_500(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    gw.users_kv.fail_reads = True
    gw.revoked_kv.fail_reads = True

    login = await client.post(f"{API}/auth/login", json={"email": "alice@example.com", "password": "correct horse battery"})
    me = await client.get(f"{API}/me", headers=alice)

    assert login.status_code == me.status_code == 503
    assert me.json()["error"]["code"] == "unavailable"


class _WriteThenTimeoutVault(FakeVault):
    """Stores the secret, then reports a timeout: the caller cannot know the write landed."""

    async def put(self, connection_id: str, credentials: Credentials) -> int:
        await super().put(connection_id, credentials)
        raise VaultUnavailable("vault unavailable: ReadTimeout")


async def test_a_vault_write_that_times_out_is_undone_in_case_it_landed() -> None:
    gw = InMemoryGateway(vault=_WriteThenTimeoutVault(can_read=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(gw.deps)), base_url="http://t") as c:
        await c.post(f"{API}/auth/register", json={"email": "a@example.com", "password": "correct horse battery"})
        token = (await c.post(f"{API}/auth/login", json={"email": "a@example.com", "password": "correct horse battery"})).json()["access_token"]

        r = await c.post(f"{API}/connections", headers={"Authorization": f"Bearer {token}"}, json=mexc_body())

    assert r.status_code == 503
    assert nothing_about_connections_stored(gw)


async def test_a_rotation_stands_when_destroying_the_replaced_key_fails(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json={
        "exchange": "mexc", "name": "Main", "api_key": "mx0vglDESTROY0001abcd", "secret": "FIRST-SECRET-0001",
        "markets": ["spot"],
    })).json()["id"]

    async def down(connection_id: str, version: int) -> None:
        raise VaultUnavailable("vault unavailable: fake is down")

    monkeypatch.setattr(gw.vault, "destroy_versions_before", down)
    r = await client.put(f"{API}/connections/{cid}/credentials", headers=alice,
                         json={"api_key": "mx0vglDESTROY0002abcd", "secret": "SECOND-SECRET-0002"})
    assert r.status_code == 200, r.text
    versions = gw.vault.versions[f"connections/{cid}"]
    assert [v.secret.get_secret_value() if v else None for v in versions] == ["FIRST-SECRET-0001", "SECOND-SECRET-0002"]
