"""Issue 2: bad input to POST /connections answers 4xx naming the field, stores and sends nothing.

Every case also checks that the rejected values (a secret among them) never come back.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bf_gateway.testing import InMemoryGateway

from .conftest import API, PASSPHRASE, SECRET, Headers, kucoin_body, mexc_body, nothing_about_connections_stored

TEN_KB = "k" * 10_240


def without(body: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != field}


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown exchange", mexc_body(exchange="binance"), "exchange", "exchange is not supported; supported exchanges: kucoin, mexc"),
    ("kucoin without passphrase", without(kucoin_body(), "passphrase"), "passphrase", "KuCoin needs the API passphrase"),
    ("kucoin with empty passphrase", kucoin_body(passphrase=""), "passphrase", "KuCoin needs the API passphrase"),
    ("mexc with a passphrase", mexc_body(passphrase=PASSPHRASE), "passphrase", "MEXC keys have no passphrase; leave passphrase out"),
    ("empty name", mexc_body(name="   "), "name", "name must be 1–64 characters"),
    ("name too long", mexc_body(name="n" * 65), "name", "name must be 1–64 characters"),
    ("10 kB name", mexc_body(name=TEN_KB), "name", "name must be 1–64 characters"),
    ("empty api key", mexc_body(api_key=""), "api_key", "api_key must be 8–256 characters"),
    ("10 kB api key", mexc_body(api_key=TEN_KB), "api_key", "api_key must be 8–256 characters"),
    ("empty secret", mexc_body(secret=""), "secret", "secret must be 8–256 characters"),
    ("10 kB secret", mexc_body(secret=SECRET + TEN_KB), "secret", "secret must be 8–256 characters"),
    ("secret with a space", mexc_body(secret=SECRET[:8] + " " + SECRET[8:]), "secret", "secret must contain only printable ASCII characters, without spaces"),
    ("non-ascii secret", mexc_body(secret=SECRET + "é"), "secret", "secret must contain only printable ASCII characters, without spaces"),
    ("secret not text", mexc_body(secret=12345678), "secret", "secret must be text"),
    ("missing secret", without(mexc_body(), "secret"), "secret", "secret is required"),
    ("no markets", mexc_body(markets=[]), "markets", "markets must list at least one of: spot, futures"),
    ("unknown market", mexc_body(markets=["spot", "margin"]), "markets", "markets must be chosen from: spot, futures"),
    ("repeated market", mexc_body(markets=["spot", "spot"]), "markets", "markets must not repeat a market"),
    ("unknown field", mexc_body(note="hi"), "note", "note is not a known field; remove it"),
]


@pytest.mark.parametrize(("case", "body", "field", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_refused_with_the_field_and_a_human_message(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, case: str, body: dict[str, Any], field: str, message: str
) -> None:
    r = await client.post(f"{API}/connections", headers=alice, json=body)

    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert {"field": field, "message": message} in error["fields"]
    assert SECRET not in r.text and PASSPHRASE not in r.text and "input" not in r.text
    assert nothing_about_connections_stored(gw)


async def test_every_problem_of_a_request_is_reported_at_once(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    body = {"exchange": "kucoin", "name": "", "api_key": "short", "secret": SECRET, "markets": []}

    r = await client.post(f"{API}/connections", headers=alice, json=body)

    assert r.status_code == 422
    assert [p["field"] for p in r.json()["error"]["fields"]] == ["name", "api_key", "passphrase", "markets"]
    assert nothing_about_connections_stored(gw)


async def test_a_duplicate_name_is_a_409_ignoring_case_and_spaces(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    assert (await client.post(f"{API}/connections", headers=alice, json=mexc_body(name="Main"))).status_code == 201
    stored = (dict(gw.vault.versions), dict(gw.connections_kv.data), list(gw.publisher.published))

    r = await client.post(f"{API}/connections", headers=alice, json=kucoin_body(name="  MAIN "))

    assert r.status_code == 409
    assert r.json()["error"]["code"] == "duplicate_name"
    assert r.json()["error"]["fields"][0]["field"] == "name"
    assert (dict(gw.vault.versions), dict(gw.connections_kv.data), list(gw.publisher.published)) == stored


async def test_another_users_names_do_not_clash(client: httpx.AsyncClient, alice: Headers, bob: Headers) -> None:
    assert (await client.post(f"{API}/connections", headers=alice, json=mexc_body(name="Main"))).status_code == 201
    assert (await client.post(f"{API}/connections", headers=bob, json=mexc_body(name="Main"))).status_code == 201


@pytest.mark.parametrize("raw", [b'{"exchange": "mexc", "name": ', b"{'exchange': 'mexc'}", b"\xff\xfe", b'{"a": 1} trailing'])
async def test_malformed_json_is_a_400_saying_what_to_fix(
    client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, raw: bytes
) -> None:
    r = await client.post(f"{API}/connections", headers={**alice, "Content-Type": "application/json"}, content=raw)

    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "malformed_json"
    assert error["message"].startswith("The request body is not valid JSON (")
    assert "at character" in error["message"]
    assert nothing_about_connections_stored(gw)


async def test_an_empty_body_is_422_asking_for_a_json_object(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    r = await client.post(f"{API}/connections", headers={**alice, "Content-Type": "application/json"}, content=b"")

    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "body", "message": "the request needs a JSON object body"}]
    assert nothing_about_connections_stored(gw)


@pytest.mark.parametrize("payload", [b"[]", b'"mexc"', b"null"])
async def test_a_body_that_is_not_an_object_is_422_on_the_body(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers, payload: bytes) -> None:
    r = await client.post(f"{API}/connections", headers={**alice, "Content-Type": "application/json"}, content=payload)

    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "body"
    assert nothing_about_connections_stored(gw)


async def test_a_body_over_16_kb_is_413_declared_or_streamed(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    big = mexc_body(name="x" * 17_000)
    declared = await client.post(f"{API}/connections", headers=alice, json=big)

    async def chunks():  # no Content-Length: the size is only known while reading
        for _ in range(20):
            yield b"x" * 1024

    streamed = await client.post(f"{API}/connections", headers={**alice, "Content-Type": "application/json"}, content=chunks())

    for r in (declared, streamed):
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
    assert nothing_about_connections_stored(gw)


async def test_a_secret_in_any_rejected_field_never_comes_back(client: httpx.AsyncClient, alice: Headers) -> None:
    # The secret pasted in the wrong places: each rejection must describe, not quote.
    bodies = [
        mexc_body(name=SECRET * 5),
        mexc_body(exchange=SECRET),
        mexc_body(markets=[SECRET]),
        mexc_body(api_key=SECRET + " x"),
        mexc_body(**{SECRET: "x"}),
        mexc_body(**{SECRET.lower(): "x"}),
    ]
    for body in bodies:
        r = await client.post(f"{API}/connections", headers=alice, json=body)

        assert r.status_code == 422
        assert SECRET not in r.text
