"""The FastStream consumers on an in-memory bus (TestNatsBroker), with a fake connector."""

from __future__ import annotations

from typing import Any

from faststream.nats import TestNatsBroker

from bf_shared import subjects
from bf_shared.bus import COMMANDS, EVENTS, make_broker, publish
from bf_shared.messages import ConnectionDeleted, ProbeReply, ProbeRequest, TestReason

from bf_tester.adapters.nats_bus import NatsProbe, NatsPublisher
from bf_tester.domain.model import run_id
from bf_tester.entrypoints.consumers import Deps, register
from bf_tester.settings import TesterSettings

from .fakes import (
    FakeClock,
    FakeIndex,
    FakeLedger,
    FakeMetrics,
    FakeRetryScheduler,
    FakeVerdicts,
    good_reply,
    request,
)

SETTINGS = TesterSettings(probe_timeout_s=2.0, retry_max_attempts=3)


def wire() -> tuple[object, Deps, list[dict[str, Any]]]:
    broker = make_broker("nats://127.0.0.1:4222", "tester-test")
    events: list[dict[str, Any]] = []
    deps = Deps(
        probe=NatsProbe(broker),
        publish=NatsPublisher(broker),
        scheduler=FakeRetryScheduler(),
        ledger=FakeLedger(),
        index=FakeIndex(),
        clock=FakeClock(),
        settings=SETTINGS,
        rand=lambda: 0.5,
        metrics=FakeMetrics(),
        verdicts=FakeVerdicts(),
    )
    register(broker, deps)

    @broker.subscriber(subjects.probe_subject("mexc"), queue=subjects.CONNECTOR_QUEUE)
    async def fake_connector(req: ProbeRequest) -> bytes:
        cmd = request(connection_id=req.connection_id, markets=req.markets, test_id=req.test_id)
        return good_reply(cmd).model_dump_json().encode()

    @broker.subscriber("bf.evt.test.*", stream=EVENTS)
    async def watch(body: dict[str, Any]) -> None:
        events.append(body)

    return broker, deps, events


async def test_command_to_verdict_to_online_index_in_memory() -> None:
    broker, deps, events = wire()
    async with TestNatsBroker(broker) as br:  # type: ignore[arg-type]
        cmd = request(markets=("spot",), reason=TestReason.ADDED)
        await publish(br, subjects.TEST_REQUESTED, cmd)

        assert len(events) == 2  # started, passed
        assert events[1]["result"]["status"] == "passed"
        assert await deps.ledger.is_done(run_id(cmd))
        # The tester's own TestPassed reached its index consumer.
        entry = await deps.index.get(cmd.connection_id)
        assert entry is not None and entry.template.test_id == cmd.test_id

        await publish(br, subjects.CONNECTION_DELETED, ConnectionDeleted(connection_id=cmd.connection_id, user_id="user1", exchange="mexc"))
        assert await deps.index.get(cmd.connection_id) is None
        assert await deps.ledger.is_deleted(cmd.connection_id)


async def test_invalid_command_is_dropped_not_raised() -> None:
    broker, deps, events = wire()
    async with TestNatsBroker(broker) as br:  # type: ignore[arg-type]
        await br.publish(b'{"connection_id": "x", "unexpected": true}', subjects.TEST_REQUESTED, stream=COMMANDS.name)
        assert events == []


async def test_probe_adapter_over_the_bus_and_without_a_connector() -> None:
    broker, _, _ = wire()
    async with TestNatsBroker(broker) as br:  # type: ignore[arg-type]
        probe = NatsProbe(br)  # type: ignore[arg-type]
        req = ProbeRequest(test_id="t1", connection_id="c1", exchange="mexc", markets=("spot",))
        rep = await probe.probe(req, 1.0)
        assert isinstance(rep, ProbeReply) and rep.test_id == "t1"

        from bf_tester.ports import ProbeUnavailable

        try:
            await probe.probe(req.model_copy(update={"exchange": "kucoin"}), 1.0)
        except ProbeUnavailable:
            pass
        else:
            raise AssertionError("a missing connector must be ProbeUnavailable")
