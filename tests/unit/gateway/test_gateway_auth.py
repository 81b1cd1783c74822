"""Accounts and tokens: register, log in, log out, expiry, and how bad credentials are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import jwt
import pytest

from bf_gateway.testing import TEST_JWT_SECRET, InMemoryGateway

from .conftest import API, PASSWORD, Headers


async def test_register_normalises_the_email_and_stores_an_argon2id_hash(
    client: httpx.AsyncClient, gw: InMemoryGateway
) -> None:
    r = await client.post(f"{API}/auth/register", json={"email": "  Trader@Example.COM ", "password": PASSWORD})

    assert r.status_code == 201
    assert r.json()["email"] == "trader@example.com"
    [entry] = gw.users_kv.data.values()
    assert entry.key.startswith("email.") and "example" not in entry.key
    assert b'"password_hash":"$argon2id$' in entry.value
    assert PASSWORD.encode() not in entry.value


async def test_a_second_account_with_the_same_email_is_a_conflict(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/auth/register", json={"email": "a@example.com", "password": PASSWORD})

    r = await client.post(f"{API}/auth/register", json={"email": "A@example.com", "password": "another password"})

    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "email_taken"
    assert "already exists" in error["message"]
    assert error["fields"] == [{"field": "email", "message": error["message"]}]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email", "email must be a valid email address"),
        ({"email": "a@example.com", "password": "short"}, "password", "password must be 10–1024 characters"),
        ({"email": "a@example.com", "password": "x" * 1025}, "password", "password must be 10–1024 characters"),
        ({"email": "a@example.com"}, "password", "password is required"),
    ],
)
async def test_register_refuses_bad_input_field_by_field(
    client: httpx.AsyncClient, gw: InMemoryGateway, body: dict[str, str], field: str, message: str
) -> None:
    r = await client.post(f"{API}/auth/register", json=body)

    assert r.status_code == 422
    problems = r.json()["error"]["fields"]
    assert [p["field"] for p in problems] == [field]
    assert problems[0]["message"].startswith(message)
    assert not gw.users_kv.data


async def test_login_returns_a_bearer_token_with_the_expected_claims(
    client: httpx.AsyncClient, gw: InMemoryGateway
) -> None:
    registered = (await client.post(f"{API}/auth/register", json={"email": "a@example.com", "password": PASSWORD})).json()

    r = await client.post(f"{API}/auth/login", json={"email": "A@Example.com", "password": PASSWORD})

    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], TEST_JWT_SECRET.get_secret_value(), algorithms=["HS256"], options={"verify_exp": False})
    assert claims["sub"] == registered["id"]
    assert claims["exp"] - claims["iat"] == 3600
    assert len(claims["jti"]) == 32


@pytest.mark.parametrize("email", ["a@example.com", "nobody@example.com"])
async def test_wrong_password_and_unknown_email_get_the_same_401(client: httpx.AsyncClient, email: str) -> None:
    await client.post(f"{API}/auth/register", json={"email": "a@example.com", "password": PASSWORD})

    r = await client.post(f"{API}/auth/login", json={"email": email, "password": "wrong password!"})

    assert r.status_code == 401
    assert r.json()["error"] == {"code": "unauthorized", "message": "Email or password is wrong."}


async def test_too_many_login_attempts_answer_429_with_retry_after(
    client: httpx.AsyncClient, gw: InMemoryGateway
) -> None:
    await client.post(f"{API}/auth/register", json={"email": "a@example.com", "password": PASSWORD})
    for _ in range(gw.login_attempts):
        assert (await client.post(f"{API}/auth/login", json={"email": "a@example.com", "password": "bad password"})).status_code == 401

    blocked = await client.post(f"{API}/auth/login", json={"email": "a@example.com", "password": PASSWORD})
    other_email = await client.post(f"{API}/auth/login", json={"email": "b@example.com", "password": "bad password"})
    gw.clock.advance(seconds=301)
    later = await client.post(f"{API}/auth/login", json={"email": "a@example.com", "password": PASSWORD})

    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 300
    assert other_email.status_code == 401  # the limit is per email and IP
    assert later.status_code == 200


async def test_me_answers_the_account_of_the_token(client: httpx.AsyncClient, alice: Headers) -> None:
    r = await client.get(f"{API}/me", headers=alice)

    assert r.status_code == 200
    assert r.json()["email"] == "alice@example.com"
    assert set(r.json()) == {"id", "email", "created_at"}


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="backfuture"'),
        ({"Authorization": "Bearer not.a.jwt"}, 'Bearer realm="backfuture", error="invalid_token"'),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 'Bearer realm="backfuture", error="invalid_token"'),
    ],
)
async def test_routes_without_a_valid_token_answer_401_with_a_challenge(
    client: httpx.AsyncClient, headers: Headers, challenge: str
) -> None:
    for method, path in [("GET", "/me"), ("GET", "/exchanges"), ("GET", "/connections"), ("POST", "/connections")]:
        r = await client.request(method, f"{API}{path}", headers=headers)

        assert r.status_code == 401, (method, path)
        assert r.headers["www-authenticate"] == challenge
        assert r.json()["error"]["code"] == "unauthorized"


async def test_a_token_signed_with_another_key_is_refused(client: httpx.AsyncClient, alice: Headers) -> None:
    claims = jwt.decode(alice["Authorization"][7:], options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-of-at-least-32-characters!!", algorithm="HS256")

    r = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {forged}"})

    assert r.status_code == 401


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    gw.clock.advance(minutes=59)
    assert (await client.get(f"{API}/me", headers=alice)).status_code == 200

    gw.clock.advance(minutes=1)
    r = await client.get(f"{API}/me", headers=alice)

    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]


async def test_logout_revokes_only_that_token(
    client: httpx.AsyncClient, gw: InMemoryGateway, signup: Callable[[str], Awaitable[Headers]]
) -> None:
    first = await signup("a@example.com")
    second = {"Authorization": "Bearer " + (await client.post(f"{API}/auth/login", json={"email": "a@example.com", "password": PASSWORD})).json()["access_token"]}

    r = await client.post(f"{API}/auth/logout", headers=first)

    assert r.status_code == 204
    assert (await client.get(f"{API}/me", headers=first)).status_code == 401
    assert (await client.get(f"{API}/me", headers=second)).status_code == 200
    [revoked] = gw.revoked_kv.data.values()
    assert revoked.key == jwt.decode(first["Authorization"][7:], options={"verify_signature": False})["jti"]
