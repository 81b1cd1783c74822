"""Adding, reading and changing connections: what is stored where, what is published, in which order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bf_shared import subjects
from bf_shared.messages import (
    ConnectionAdded,
    ConnectionAttested,
    ConnectionCredentialsRotated,
    ConnectionDeleted,
    ConnectionRenamed,
    TestRequested,
)

from bf_gateway.bootstrap import create_app
from bf_gateway.domain.connections import ConnectionView
from bf_gateway.testing import InMemoryGateway

from .conftest import API, MEXC_KEY, PASSPHRASE, SECRET, Headers, kucoin_body, mexc_body

VIEW_FIELDS = {
    "id", "exchange", "name", "markets", "api_key_masked", "status", "current_test", "last_test",
    "withdraw_attested", "attestation", "warnings", "created_at", "updated_at",
}


async def add(client: httpx.AsyncClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    r = await client.post(f"{API}/connections", headers=headers, json=mexc_body(**overrides))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def published(gw: InMemoryGateway, subject: str) -> list[Any]:
    return [m for s, m in gw.publisher.published if s == subject]


async def test_adding_a_connection_stores_the_secret_in_vault_only_and_starts_a_test(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    r = await client.post(f"{API}/connections", headers=alice, json=mexc_body())

    assert r.status_code == 201
    view = r.json()
    assert set(view) == VIEW_FIELDS
    assert view["status"] == "testing" and view["last_test"] is None
    assert view["api_key_masked"] == "mx0v…abcd"
    assert view["markets"] == ["spot", "futures"] and view["withdraw_attested"] is False
    assert r.headers["location"] == f"{API}/connections/{view['id']}"
    [version] = gw.vault.versions[f"connections/{view['id']}"]
    assert version is not None
    assert version.secret.get_secret_value() == SECRET and version.api_key.get_secret_value() == MEXC_KEY
    assert SECRET.encode() not in gw.stored_bytes() and MEXC_KEY.encode() not in gw.stored_bytes()
    assert gw.publisher.subjects() == [subjects.CONNECTION_ADDED, subjects.TEST_REQUESTED]
    added, requested = (m for _, m in gw.publisher.published)
    assert isinstance(added, ConnectionAdded) and isinstance(requested, TestRequested)
    assert (added.connection_id, added.api_key_masked, added.secret_version) == (view["id"], "mx0v…abcd", 1)
    assert requested.reason == "added" and requested.test_id == view["current_test"]["test_id"]
    assert requested.markets == ("spot", "futures") and requested.key_reused == "none"


async def test_kucoin_passphrase_goes_to_vault_with_the_key(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    r = await client.post(f"{API}/connections", headers=alice, json=kucoin_body())

    assert r.status_code == 201
    [version] = gw.vault.versions[f"connections/{r.json()['id']}"]
    assert version is not None and version.passphrase is not None
    assert version.passphrase.get_secret_value() == PASSPHRASE
    assert PASSPHRASE not in r.text


async def test_pasted_whitespace_around_credentials_is_trimmed(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    view = await add(client, alice, api_key=f"  {MEXC_KEY}\n", secret=f"{SECRET}\n")

    [version] = gw.vault.versions[f"connections/{view['id']}"]
    assert version is not None and version.secret.get_secret_value() == SECRET
    assert view["api_key_masked"] == "mx0v…abcd"


async def test_the_secret_never_appears_in_any_response_event_or_kv_entry(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    view = await add(client, alice)
    cid = view["id"]
    url = f"{API}/connections/{cid}"
    responses = [
        await client.get(f"{API}/connections", headers=alice),
        await client.get(url, headers=alice),
        await client.patch(url, headers=alice, json={"name": "Renamed"}),
        await client.put(f"{url}/credentials", headers=alice, json={"api_key": MEXC_KEY, "secret": SECRET}),
        await client.post(f"{url}/test", headers=alice),
        await client.post(f"{url}/attestations", headers=alice, json={"withdraw_disabled": True}),
    ]

    for r in responses:
        assert r.status_code < 300
        assert SECRET not in r.text and MEXC_KEY not in r.text
    for _, message in gw.publisher.published:
        assert SECRET not in message.model_dump_json() and MEXC_KEY not in message.model_dump_json()
    assert SECRET.encode() not in gw.stored_bytes() and MEXC_KEY.encode() not in gw.stored_bytes()


async def test_a_key_used_twice_by_the_same_user_is_flagged_same_user(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    first = await add(client, alice, name="One")
    second = await add(client, alice, name="Two")

    assert first["warnings"] == []
    assert [w["code"] for w in second["warnings"]] == ["key_reused"]
    assert "another of your connections" in second["warnings"][0]["message"]
    assert published(gw, subjects.TEST_REQUESTED)[-1].key_reused == "same_user"
    me = (await client.get(f"{API}/me", headers=alice)).json()["id"]
    entries = {e.key.split(".")[1]: e.value.decode() for e in gw.fingerprints_kv.data.values()}
    assert entries == {first["id"]: me, second["id"]: me}
    assert len({e.key.split(".")[0] for e in gw.fingerprints_kv.data.values()}) == 1  # one fingerprint


async def test_a_key_registered_by_another_user_is_flagged_other_user(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, bob: Headers
) -> None:
    await add(client, alice)
    bobs = await add(client, bob)

    assert [w["code"] for w in bobs["warnings"]] == ["key_reused_elsewhere"]
    assert published(gw, subjects.TEST_REQUESTED)[-1].key_reused == "other_user"
    owners = {e.key.split(".")[1]: e.value.decode() for e in gw.fingerprints_kv.data.values()}
    assert len(set(owners.values())) == 2  # one entry per connection, each naming its owner


async def test_the_list_holds_only_the_callers_connections(client: httpx.AsyncClient, alice: Headers, bob: Headers) -> None:
    a1 = await add(client, alice, name="A1")
    a2 = await add(client, alice, name="A2", api_key="mx0vglOTHERKEY0002wxyz")
    await add(client, bob, name="B1")

    r = await client.get(f"{API}/connections", headers=alice)

    assert r.status_code == 200
    assert [c["id"] for c in r.json()["connections"]] == [a1["id"], a2["id"]]
    assert {c["api_key_masked"] for c in r.json()["connections"]} == {"mx0v…abcd", "mx0v…wxyz"}


ROUTES = [
    ("GET", "", None),
    ("PATCH", "", {"name": "Mine now"}),
    ("PUT", "/credentials", {"api_key": MEXC_KEY, "secret": SECRET}),
    ("POST", "/test", None),
    ("POST", "/attestations", {"withdraw_disabled": True}),
    ("GET", "/events", None),
    ("DELETE", "", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES, ids=[f"{m} {s or '/'}" for m, s, _ in ROUTES])
async def test_another_users_connection_answers_404_and_is_untouched(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, bob: Headers, method: str, suffix: str, body: Any
) -> None:
    cid = (await add(client, alice))["id"]
    before = (dict(gw.connections_kv.data), {k: list(v) for k, v in gw.vault.versions.items()}, len(gw.publisher.published))

    stranger = await client.request(method, f"{API}/connections/{cid}{suffix}", headers=bob, json=body)
    unknown = await client.request(method, f"{API}/connections/{'f' * 32}{suffix}", headers=alice, json=body)
    malformed = await client.request(method, f"{API}/connections/*{suffix}", headers=alice, json=body)

    assert stranger.status_code == unknown.status_code == malformed.status_code == 404
    assert stranger.json() == unknown.json() == {"error": {"code": "not_found", "message": "No such connection."}}
    assert (dict(gw.connections_kv.data), {k: list(v) for k, v in gw.vault.versions.items()}, len(gw.publisher.published)) == before


async def test_rename_changes_the_name_and_announces_it(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    cid = (await add(client, alice))["id"]
    gw.clock.advance(minutes=1)

    r = await client.patch(f"{API}/connections/{cid}", headers=alice, json={"name": "  Scalper  "})

    assert r.status_code == 200
    assert r.json()["name"] == "Scalper" and r.json()["updated_at"] > r.json()["created_at"]
    [event] = published(gw, subjects.CONNECTION_RENAMED)
    assert isinstance(event, ConnectionRenamed) and (event.connection_id, event.name) == (cid, "Scalper")


async def test_rename_to_another_connections_name_is_409_and_case_changes_are_allowed(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    first = await add(client, alice, name="Alpha")
    await add(client, alice, name="Beta", api_key="mx0vglOTHERKEY0002wxyz")

    clash = await client.patch(f"{API}/connections/{first['id']}", headers=alice, json={"name": "BETA"})
    recase = await client.patch(f"{API}/connections/{first['id']}", headers=alice, json={"name": "ALPHA"})
    empty = await client.patch(f"{API}/connections/{first['id']}", headers=alice, json={"name": ""})

    assert clash.status_code == 409 and clash.json()["error"]["code"] == "duplicate_name"
    assert recase.status_code == 200 and recase.json()["name"] == "ALPHA"
    assert empty.status_code == 422 and empty.json()["error"]["fields"] == [{"field": "name", "message": "name must be 1–64 characters"}]


async def test_rotating_writes_a_new_vault_version_moves_the_fingerprint_and_retests(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    cid = (await add(client, alice))["id"]
    await client.post(f"{API}/connections/{cid}/attestations", headers=alice, json={"withdraw_disabled": True})
    old_fingerprints = set(gw.fingerprints_kv.data)
    new_key, new_secret = "mx0vglROTATED0003zzzz", "ROTATED-SECRET-123456"

    r = await client.put(f"{API}/connections/{cid}/credentials", headers=alice, json={"api_key": new_key, "secret": new_secret})

    assert r.status_code == 200
    view = r.json()
    assert view["api_key_masked"] == "mx0v…zzzz" and view["status"] == "testing"
    assert view["withdraw_attested"] is False  # the attestation was about the old key
    versions = gw.vault.versions[f"connections/{cid}"]
    assert len(versions) == 2 and versions[-1] is not None and versions[-1].secret.get_secret_value() == new_secret
    assert versions[0] is None, "the replaced key is destroyed, not kept readable"
    assert set(gw.fingerprints_kv.data).isdisjoint(old_fingerprints) and len(gw.fingerprints_kv.data) == 1
    [rotated] = published(gw, subjects.CONNECTION_CREDENTIALS_ROTATED)
    assert isinstance(rotated, ConnectionCredentialsRotated)
    assert (rotated.secret_version, rotated.api_key_masked) == (2, "mx0v…zzzz")
    retest = published(gw, subjects.TEST_REQUESTED)[-1]
    assert (retest.reason, retest.secret_version, retest.withdraw_attested) == ("rotated", 2, False)
    assert view["current_test"]["test_id"] == retest.test_id


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"api_key": "kc-key-0123456789", "secret": SECRET}, "KuCoin needs the API passphrase"),
        ({"api_key": "kc-key-0123456789", "secret": SECRET, "passphrase": ""}, "KuCoin needs the API passphrase"),
    ],
)
async def test_rotating_a_kucoin_key_needs_the_passphrase(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, body: dict[str, str], message: str
) -> None:
    cid = (await client.post(f"{API}/connections", headers=alice, json=kucoin_body())).json()["id"]
    sent = len(gw.publisher.published)

    r = await client.put(f"{API}/connections/{cid}/credentials", headers=alice, json=body)

    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "passphrase", "message": message}]
    assert len(gw.vault.versions[f"connections/{cid}"]) == 1 and len(gw.publisher.published) == sent


async def test_a_manual_test_is_202_with_a_test_id_and_requests_a_test(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    cid = (await add(client, alice))["id"]
    gw.clock.advance(seconds=31)  # the first test is no longer "just requested"

    r = await client.post(f"{API}/connections/{cid}/test", headers=alice)

    assert r.status_code == 202
    test_id = r.json()["test_id"]
    request = published(gw, subjects.TEST_REQUESTED)[-1]
    assert (request.test_id, request.reason, request.connection_id) == (test_id, "manual", cid)
    view = (await client.get(f"{API}/connections/{cid}", headers=alice)).json()
    assert view["status"] == "testing" and view["current_test"]["test_id"] == test_id


async def test_test_clicked_twice_within_30_seconds_reuses_the_pending_test(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    cid = (await add(client, alice))["id"]
    gw.clock.advance(seconds=40)
    first = (await client.post(f"{API}/connections/{cid}/test", headers=alice)).json()["test_id"]
    gw.clock.advance(seconds=10)
    second = (await client.post(f"{API}/connections/{cid}/test", headers=alice)).json()["test_id"]
    gw.clock.advance(seconds=30)
    third = (await client.post(f"{API}/connections/{cid}/test", headers=alice)).json()["test_id"]

    assert first == second != third
    assert [m.reason for m in published(gw, subjects.TEST_REQUESTED)] == ["added", "manual", "manual"]


async def test_attesting_records_who_and_when_audits_and_retests(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    cid = (await add(client, alice))["id"]
    me = (await client.get(f"{API}/me", headers=alice)).json()
    gw.clock.advance(minutes=5)

    r = await client.post(f"{API}/connections/{cid}/attestations", headers=alice, json={"withdraw_disabled": True})

    assert r.status_code == 200
    view = r.json()
    assert view["withdraw_attested"] is True
    assert view["attestation"] == {"withdraw_disabled": True, "by": me["id"], "at": "2025-01-06T09:05:00Z"}
    [event] = published(gw, subjects.CONNECTION_ATTESTED)
    assert isinstance(event, ConnectionAttested) and event.user_id == me["id"] and event.connection_id == cid
    retest = published(gw, subjects.TEST_REQUESTED)[-1]
    assert (retest.reason, retest.withdraw_attested) == ("attested", True)
    assert view["current_test"]["test_id"] == retest.test_id


@pytest.mark.parametrize(
    "body",
    [{"withdraw_disabled": False}, {"withdraw_disabled": "true"}, {"withdraw_disabled": 1}, {}, {"withdraw_disabled": True, "note": "x"}],
)
async def test_only_withdraw_disabled_true_is_an_attestation(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, body: dict[str, Any]
) -> None:
    cid = (await add(client, alice))["id"]
    sent = len(gw.publisher.published)

    r = await client.post(f"{API}/connections/{cid}/attestations", headers=alice, json=body)

    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] in {"withdraw_disabled", "note"}
    assert len(gw.publisher.published) == sent
    assert (await client.get(f"{API}/connections/{cid}", headers=alice)).json()["withdraw_attested"] is False


async def test_delete_destroys_every_version_and_forgets_the_connection(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers
) -> None:
    cid = (await add(client, alice))["id"]
    await client.put(f"{API}/connections/{cid}/credentials", headers=alice, json={"api_key": MEXC_KEY, "secret": "ANOTHER-SECRET-0001"})

    r = await client.delete(f"{API}/connections/{cid}", headers=alice)

    assert r.status_code == 204 and r.content == b""
    assert f"connections/{cid}" not in gw.vault.versions
    assert not gw.connections_kv.data and not gw.fingerprints_kv.data
    [deleted] = published(gw, subjects.CONNECTION_DELETED)
    assert isinstance(deleted, ConnectionDeleted) and (deleted.connection_id, deleted.exchange) == (cid, "mexc")
    assert (await client.get(f"{API}/connections/{cid}", headers=alice)).status_code == 404
    assert (await client.delete(f"{API}/connections/{cid}", headers=alice)).status_code == 404


async def test_a_user_may_not_exceed_the_connection_limit() -> None:
    limited = InMemoryGateway(max_per_user=1)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(limited.deps)), base_url="http://t") as c:
        await c.post(f"{API}/auth/register", json={"email": "a@example.com", "password": "correct horse battery"})
        token = (await c.post(f"{API}/auth/login", json={"email": "a@example.com", "password": "correct horse battery"})).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        assert (await c.post(f"{API}/connections", headers=h, json=mexc_body(name="One"))).status_code == 201

        r = await c.post(f"{API}/connections", headers=h, json=mexc_body(name="Two"))

    assert r.status_code == 409 and r.json()["error"]["code"] == "limit_reached"
    assert len(limited.vault.versions) == 1


def test_the_stored_view_has_the_documented_fields_and_no_secret_field() -> None:
    # Guard the KV format other services may read.
    assert set(ConnectionView.model_fields) == {
        "schema_version", "id", "user_id", "exchange", "name", "markets", "api_key_masked", "key_fingerprint",
        "key_reused", "secret_version", "status", "pending_test", "last_test", "attestation", "created_at", "updated_at",
    }
    assert ConnectionView.model_json_schema()["properties"]["status"]["enum"] == ["untested", "testing", "online", "failed"]
