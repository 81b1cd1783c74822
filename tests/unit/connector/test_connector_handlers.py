"""handle_probe and the eviction handlers, with fakes for Vault and the venue."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from bf_shared.codes import ErrorCode
from bf_shared.messages import ConnectionCredentialsRotated, ConnectionDeleted, ProbeName, ProbeRequest
from bf_shared.vault import Credentials, FakeVault

from bf_connector.exchanges.base import ClientOptions, RunContext
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.handlers import (
    SECRET_NOT_FOUND,
    VAULT_FORBIDDEN,
    VAULT_UNAVAILABLE,
    WRONG_EXCHANGE,
    handle_connection_deleted,
    handle_credentials_rotated,
    handle_probe,
)
from bf_connector.errors import ExchangeError
from bf_connector.metrics import ConnectorMetrics

from .fakes import FakeClock, FakeSession, ScriptedVenue, canary_credentials


def _clients(venue: ScriptedVenue | None = None) -> tuple[ClientFactory, list[FakeSession]]:
    made: list[FakeSession] = []

    def build(credentials: Credentials) -> FakeSession:
        made.append(FakeSession(credentials))
        return made[-1]

    factory = ClientFactory(
        venue or ScriptedVenue(), ClientOptions(), metrics=ConnectorMetrics(CollectorRegistry()), clock=FakeClock(),
        build=build,  # type: ignore[arg-type]
    )
    return factory, made


def _request(exchange: str = "mexc", connection_id: str = "c1") -> ProbeRequest:
    return ProbeRequest(test_id="t1", connection_id=connection_id, exchange=exchange, markets=("spot", "futures"))


async def _vault() -> FakeVault:
    vault = FakeVault()
    await vault.put("c1", canary_credentials())
    return vault


async def test_a_probe_reply_carries_every_outcome_and_the_key_facts() -> None:
    clients, _ = _clients()
    reply = await handle_probe(_request(), reader=await _vault(), clients=clients, clock=FakeClock())
    assert reply.error is None
    assert (reply.test_id, reply.connection_id, reply.exchange) == ("t1", "c1", "mexc")
    assert [o.name for o in reply.outcomes] == [
        ProbeName.EXCHANGE_STATUS, ProbeName.CREDENTIALS, ProbeName.READ_BALANCE,
        ProbeName.PERMISSIONS, ProbeName.TRADE, ProbeName.FUTURES_BALANCE,
    ]
    assert all(o.ok for o in reply.outcomes)
    assert reply.key.permissions.trade is True and reply.key.source == "introspection"


async def test_exchange_failures_are_facts_not_reply_errors() -> None:
    async def down(ctx: RunContext) -> None:
        raise ExchangeError.of(ErrorCode.EXCHANGE_UNAVAILABLE, "HTTP 503", http_status=503)

    clients, _ = _clients(ScriptedVenue(exchange_status=down, signed_check=down))
    reply = await handle_probe(_request(), reader=await _vault(), clients=clients, clock=FakeClock())
    assert reply.error is None
    failed = {o.name: o.error.code for o in reply.outcomes if o.error is not None}
    assert failed == {ProbeName.EXCHANGE_STATUS: ErrorCode.EXCHANGE_UNAVAILABLE, ProbeName.CREDENTIALS: ErrorCode.EXCHANGE_UNAVAILABLE}


async def test_a_deleted_secret_answers_with_a_reply_error() -> None:
    clients, made = _clients()
    reply = await handle_probe(_request(connection_id="gone"), reader=await _vault(), clients=clients, clock=FakeClock())
    assert reply.error is not None and (reply.error.code, reply.error.detail) == ("unknown", SECRET_NOT_FOUND)
    assert reply.outcomes == () and made == []


@pytest.mark.parametrize(("available", "can_read", "detail"), [(False, True, VAULT_UNAVAILABLE), (True, False, VAULT_FORBIDDEN)])
async def test_vault_trouble_is_an_unknown_reply_error(available: bool, can_read: bool, detail: str) -> None:
    vault = await _vault()
    vault.available, vault.can_read = available, can_read
    clients, _ = _clients()
    reply = await handle_probe(_request(), reader=vault, clients=clients, clock=FakeClock())
    assert reply.error is not None and (reply.error.code, reply.error.detail) == ("unknown", detail)


async def test_a_request_for_another_exchange_is_refused() -> None:
    clients, made = _clients()
    reply = await handle_probe(_request(exchange="kucoin"), reader=await _vault(), clients=clients, clock=FakeClock())
    assert reply.error is not None and reply.error.detail == WRONG_EXCHANGE and made == []


async def test_rotation_and_deletion_drop_the_cached_client_of_this_exchange_only() -> None:
    vault = await _vault()
    clients, made = _clients()
    await handle_probe(_request(), reader=vault, clients=clients, clock=FakeClock())
    handle_credentials_rotated(
        ConnectionCredentialsRotated(connection_id="c1", user_id="u", exchange="kucoin", api_key_masked="…", secret_version=2),
        clients=clients,
    )
    assert len(clients) == 1
    handle_credentials_rotated(
        ConnectionCredentialsRotated(connection_id="c1", user_id="u", exchange="mexc", api_key_masked="…", secret_version=2),
        clients=clients,
    )
    assert len(clients) == 0
    await handle_probe(_request(), reader=vault, clients=clients, clock=FakeClock())
    handle_connection_deleted(ConnectionDeleted(connection_id="c1", user_id="u", exchange="mexc"), clients=clients)
    assert len(clients) == 0 and len(made) == 2
