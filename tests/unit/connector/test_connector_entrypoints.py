"""The NATS entrypoints, on FastStream's in-memory TestNatsBroker."""

from __future__ import annotations

import json

from faststream.nats import NatsBroker, TestNatsBroker
from prometheus_client import CollectorRegistry

from bf_shared import subjects
from bf_shared.bus import publish
from bf_shared.messages import ConnectionCredentialsRotated, ConnectionDeleted, ProbeReply, ProbeRequest
from bf_shared.vault import Credentials, FakeVault

from bf_connector.entrypoints.nats import Dependencies, register
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.metrics import ConnectorMetrics

from .fakes import FakeClock, FakeSession, ScriptedVenue, canary_credentials


async def _setup() -> tuple[NatsBroker, ClientFactory, FakeVault]:
    vault = FakeVault()
    await vault.put("c1", canary_credentials())
    clients = ClientFactory(
        ScriptedVenue(), ClientOptions(), metrics=ConnectorMetrics(CollectorRegistry()), clock=FakeClock(),
        build=lambda creds: FakeSession(creds),  # type: ignore[arg-type,return-value]
    )
    broker = NatsBroker()
    register(broker, Dependencies(reader=vault, clients=clients, clock=FakeClock(),
                                  metrics=ConnectorMetrics(CollectorRegistry()), probe_timeout_s=5))
    return broker, clients, vault


async def test_a_probe_request_gets_a_probe_reply() -> None:
    broker, _, _ = await _setup()
    request = ProbeRequest(test_id="t9", connection_id="c1", exchange="mexc", markets=("spot",))
    async with TestNatsBroker(broker) as br:
        answer = await br.request(request.model_dump_json().encode(), subjects.probe_subject("mexc"), timeout=5)
        reply = ProbeReply.model_validate_json(answer.body)
    assert reply.test_id == "t9" and reply.error is None and len(reply.outcomes) == 5
    assert json.loads(answer.body)["key"]["permissions"]["withdraw"] is False


async def test_events_evict_the_connection_cache() -> None:
    broker, clients, vault = await _setup()
    async with TestNatsBroker(broker) as br:
        async with clients.lease("c1", None, vault), clients.lease("c1", 1, vault):
            pass
        assert len(clients) == 2
        await publish(br, subjects.CONNECTION_CREDENTIALS_ROTATED, ConnectionCredentialsRotated(
            connection_id="c1", user_id="u", exchange="mexc", api_key_masked="…", secret_version=2))
        assert len(clients) == 0
        async with clients.lease("c1", None, vault):
            pass
        await publish(br, subjects.CONNECTION_DELETED, ConnectionDeleted(connection_id="c1", user_id="u", exchange="mexc"))
        assert len(clients) == 0
