"""Live probe progress: each outcome is reported as its probe ends, before the reply, and
reporting can neither fail a probe nor hold the run."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsBroker, TestNatsBroker
from prometheus_client import CollectorRegistry

from bf_shared import subjects
from bf_shared.codes import ErrorCode
from bf_shared.messages import Market, ProbeName, ProbeOutcome, ProbeProgress, ProbeReply, ProbeRequest
from bf_shared.vault import Credentials, FakeVault

from bf_connector.entrypoints.nats import Dependencies, progress_sink, register
from bf_connector.errors import ExchangeError
from bf_connector.exchanges.base import ClientOptions, RunContext
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.exchanges.runner import run_probes
from bf_connector.handlers import SECRET_NOT_FOUND, WRONG_EXCHANGE, handle_probe
from bf_connector.metrics import ConnectorMetrics

from .fakes import CANARIES, FakeClock, FakeSession, ScriptedVenue, canary_credentials

ALL: tuple[Market, ...] = ("spot", "futures")


def _clients(venue: ScriptedVenue) -> ClientFactory:
    def build(credentials: Credentials) -> FakeSession:
        return FakeSession(credentials)

    return ClientFactory(
        venue, ClientOptions(), metrics=ConnectorMetrics(CollectorRegistry()), clock=FakeClock(),
        build=build,  # type: ignore[arg-type]
    )


async def _vault() -> FakeVault:
    vault = FakeVault()
    await vault.put("c1", canary_credentials())
    return vault


async def test_each_outcome_is_reported_when_its_probe_ends_not_when_the_run_ends() -> None:
    trade_may_end = asyncio.Event()
    heard: list[ProbeName] = []

    async def slow_trade(ctx: RunContext) -> None:
        await trade_may_end.wait()

    async def sink(outcome: ProbeOutcome) -> None:
        heard.append(outcome.name)
        if len(heard) == 5:  # every other probe reported while the trade probe still runs
            trade_may_end.set()

    outcomes, _ = await run_probes(
        ScriptedVenue(trade=slow_trade), FakeSession(), ALL, timeout_s=5,  # type: ignore[arg-type]
        clock=FakeClock(), new_id=lambda: "id1", on_outcome=sink,
    )

    assert heard[-1] == ProbeName.TRADE, "the slow probe is reported last"
    assert sorted(heard) == sorted(o.name for o in outcomes) and len(heard) == 6


async def test_the_reported_outcome_is_the_one_in_the_reply_errors_included() -> None:
    async def denied(ctx: RunContext) -> None:
        raise ExchangeError.of(ErrorCode.NO_TRADE_PERMISSION, "trade right missing", exchange_code="700007")

    heard: list[ProbeOutcome] = []

    async def sink(outcome: ProbeOutcome) -> None:
        heard.append(outcome)

    outcomes, _ = await run_probes(
        ScriptedVenue(trade=denied), FakeSession(), ("spot",), timeout_s=5,  # type: ignore[arg-type]
        clock=FakeClock(), new_id=lambda: "id1", on_outcome=sink,
    )

    assert sorted(heard, key=lambda o: o.name) == sorted(outcomes, key=lambda o: o.name)
    trade = next(o for o in heard if o.name == ProbeName.TRADE)
    assert trade.error is not None and trade.error.code == ErrorCode.NO_TRADE_PERMISSION


async def test_a_failing_or_stalled_reporter_changes_nothing_and_holds_the_run_only_briefly() -> None:
    async def broken(outcome: ProbeOutcome) -> None:
        raise ConnectionError("bus down")

    async def stalled(outcome: ProbeOutcome) -> None:
        await asyncio.Event().wait()

    plain, _ = await run_probes(
        ScriptedVenue(), FakeSession(), ALL, timeout_s=5, clock=FakeClock(), new_id=lambda: "id1",  # type: ignore[arg-type]
    )
    for sink in (broken, stalled):
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcomes, _ = await run_probes(
            ScriptedVenue(), FakeSession(), ALL, timeout_s=5, clock=FakeClock(),  # type: ignore[arg-type]
            new_id=lambda: "id1", on_outcome=sink, outcome_sink_timeout_s=0.05,
        )
        assert outcomes == plain
        # Probes report concurrently: one bounded wait in all, not one per probe in a row.
        assert loop.time() - started < 1.0


async def test_handle_probe_reports_every_outcome_of_the_test_before_it_replies() -> None:
    heard: list[ProbeProgress] = []
    request = ProbeRequest(test_id="t1", connection_id="c1", exchange="mexc", markets=ALL)

    async def sink(progress: ProbeProgress) -> None:
        heard.append(progress)

    reply = await handle_probe(
        request, reader=await _vault(), clients=_clients(ScriptedVenue()), clock=FakeClock(), on_outcome=sink
    )

    assert {(p.test_id, p.connection_id) for p in heard} == {("t1", "c1")}
    assert sorted(p.outcome.name for p in heard) == sorted(o.name for o in reply.outcomes)
    dumped = "".join(p.model_dump_json() for p in heard)
    assert not any(canary in dumped for canary in CANARIES)


async def test_no_progress_when_no_probe_runs() -> None:
    heard: list[ProbeProgress] = []

    async def sink(progress: ProbeProgress) -> None:
        heard.append(progress)

    clients = _clients(ScriptedVenue())
    wrong = ProbeRequest(test_id="t1", connection_id="c1", exchange="kucoin", markets=ALL)
    gone = ProbeRequest(test_id="t2", connection_id="gone", exchange="mexc", markets=ALL)
    details = []
    for request in (wrong, gone):
        reply = await handle_probe(request, reader=await _vault(), clients=clients, clock=FakeClock(), on_outcome=sink)
        details.append(reply.error.detail if reply.error is not None else None)
    assert details == [WRONG_EXCHANGE, SECRET_NOT_FOUND]
    assert heard == []


def test_a_test_id_that_is_not_one_subject_token_gets_no_progress_subject() -> None:
    broker = NatsBroker()
    for bad in ("", "a.b", "*", ">", "a b"):
        assert progress_sink(broker, bad) is None
    assert progress_sink(broker, "0f3a") is not None
    assert subjects.probe_progress_subject("0f3a") == "bf.rpc.progress.0f3a"


async def test_the_entrypoint_publishes_progress_on_the_tests_subject_before_the_reply() -> None:
    vault = await _vault()
    broker = NatsBroker()
    register(broker, Dependencies(reader=vault, clients=_clients(ScriptedVenue()), clock=FakeClock(),
                                  metrics=ConnectorMetrics(CollectorRegistry()), probe_timeout_s=5))
    heard: list[ProbeProgress] = []

    @broker.subscriber(subjects.probe_progress_subject("t9"))
    async def listen(progress: ProbeProgress) -> None:
        heard.append(progress)

    request = ProbeRequest(test_id="t9", connection_id="c1", exchange="mexc", markets=("spot",))
    async with TestNatsBroker(broker) as br:
        answer = await br.request(request.model_dump_json().encode(), subjects.probe_subject("mexc"), timeout=5)
        reply = ProbeReply.model_validate_json(answer.body)
        progress_when_replied = len(heard)

    assert progress_when_replied == len(reply.outcomes) == 5
    assert {p.outcome.name for p in heard} == {o.name for o in reply.outcomes}
    assert {(p.test_id, p.connection_id) for p in heard} == {("t9", "c1")}
