"""The tester on a real nats-server, with a fake connector answering probes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
import pytest_asyncio
from nats.aio.client import Client
from prometheus_client import CollectorRegistry

from bf_shared import subjects
from bf_shared.messages import ProbeReply, ProbeRequest, TestReason, TestRequested

from bf_tester.adapters.kv_state import KvRetryScheduler
from bf_tester.bootstrap import TesterService
from bf_tester.settings import TesterSettings

from .harness import FakeConnector, Recorder, connect, exchange_down, healthy, reset_tester_state, send


def settings_for(url: str, **overrides: float) -> TesterSettings:
    values: dict[str, float] = {
        "probe_timeout_s": 2.0,
        "retry_max_attempts": 4,
        "retry_base_s": 0.5,
        "retry_cap_s": 1.0,
        "retry_min_s": 0.3,
        "scheduler_tick_s": 0.1,
        "lease_ttl_s": 3.0,
    }
    values.update(overrides)
    return TesterSettings(nats_url=url, ops_port=0, log_json=False, **values)  # type: ignore[arg-type]


def command(connection_id: str) -> TestRequested:
    return TestRequested(
        connection_id=connection_id, user_id="user-it", exchange="mexc", markets=("spot",), reason=TestReason.ADDED
    )


@pytest_asyncio.fixture
async def nc(nats_server: str) -> AsyncIterator[Client]:
    client = await connect(nats_server)
    await reset_tester_state(client, settings_for(nats_server))
    try:
        yield client
    finally:
        await client.close()


class Switch:
    """The fake connector's behaviour, switchable during a test."""

    def __init__(self, answer: Callable[[ProbeRequest], ProbeReply]) -> None:
        self.answer = answer

    def __call__(self, req: ProbeRequest) -> ProbeReply:
        return self.answer(req)


async def start_tester(url: str, **overrides: float) -> TesterService:
    service = TesterService(settings_for(url, **overrides), registry=CollectorRegistry())
    await service.start()
    return service


async def test_requested_test_is_started_then_passed_and_healthz_is_green(nats_server: str, nc: Client) -> None:
    connector = await FakeConnector(nc, "mexc", healthy).start()
    recorder = await Recorder(nc).start()
    tester = await start_tester(nats_server)
    try:
        cid = uuid.uuid4().hex
        cmd = command(cid)
        await send(nc, cmd)
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_PASSED)) == 1)

        assert [s for s, body in recorder.events if body.get("connection_id") == cid] == [
            subjects.TEST_STARTED,
            subjects.TEST_PASSED,
        ]
        (passed,) = recorder.of(cid, subjects.TEST_PASSED)
        assert passed["result"]["test_id"] == cmd.test_id
        assert [c["name"] for c in passed["result"]["checks"]] == [
            "exchange_status", "api_key", "read", "trade", "withdraw_disabled", "futures", "ip_whitelist",
        ]
        assert [r.test_id for r in connector.requests] == [cmd.test_id]

        assert tester.ops is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{tester.ops.port}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"http://127.0.0.1:{tester.ops.port}/metrics") as resp:
                text = await resp.text()
        assert 'bf_tester_tests_total{code="none",exchange="mexc",result="passed"} 1.0' in text
    finally:
        await tester.stop()
        await connector.stop()


async def test_exchange_down_then_up_fails_with_next_retry_then_passes_by_itself(nats_server: str, nc: Client) -> None:
    behaviour = Switch(exchange_down)
    connector = await FakeConnector(nc, "mexc", behaviour).start()
    recorder = await Recorder(nc).start()
    tester = await start_tester(nats_server)
    try:
        cid = uuid.uuid4().hex
        await send(nc, command(cid))
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_FAILED)) == 1)
        (failed,) = recorder.of(cid, subjects.TEST_FAILED)
        assert failed["result"]["error"]["code"] == "exchange_unavailable"
        next_retry_at = datetime.fromisoformat(failed["result"]["next_retry_at"])
        assert next_retry_at > datetime.fromisoformat(failed["result"]["finished_at"])

        behaviour.answer = healthy  # the exchange is back; nobody presses anything
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_PASSED)) == 1)
        (passed,) = recorder.of(cid, subjects.TEST_PASSED)
        assert passed["result"]["attempt"] == 2
        assert datetime.fromisoformat(passed["result"]["started_at"]) >= next_retry_at
        assert await KvRetryScheduler(await nc.jetstream().key_value(subjects.KV_TESTER)).pending(cid) is None
    finally:
        await tester.stop()
        await connector.stop()


async def test_a_pending_retry_survives_a_tester_restart(nats_server: str, nc: Client) -> None:
    behaviour = Switch(exchange_down)
    connector = await FakeConnector(nc, "mexc", behaviour).start()
    recorder = await Recorder(nc).start()
    # Retries wait at least 2 s: long enough to stop the first tester before it is due.
    first = await start_tester(nats_server, retry_min_s=2.0, retry_cap_s=2.0)
    cid = uuid.uuid4().hex
    try:
        await send(nc, command(cid))
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_FAILED)) == 1)
    finally:
        await first.stop()
    pending = await KvRetryScheduler(await nc.jetstream().key_value(subjects.KV_TESTER)).pending(cid)
    assert pending is not None and pending.command.attempt == 2 and pending.published_at is None

    behaviour.answer = healthy
    second = await start_tester(nats_server, retry_min_s=2.0, retry_cap_s=2.0)
    try:
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_PASSED)) == 1)
        (passed,) = recorder.of(cid, subjects.TEST_PASSED)
        assert passed["result"]["test_id"] == pending.command.test_id
        assert passed["result"]["attempt"] == 2
    finally:
        await second.stop()
        await connector.stop()


async def test_connector_silence_is_retried_and_two_replicas_share_one_scheduler(nats_server: str, nc: Client) -> None:
    recorder = await Recorder(nc).start()
    # Retries wait at least 1.5 s, so the connector below is listening when the retry runs.
    replicas = [await start_tester(nats_server, retry_min_s=1.5, retry_cap_s=1.5) for _ in range(2)]
    connector: FakeConnector | None = None
    try:
        cid = uuid.uuid4().hex
        cmd = command(cid)
        await send(nc, cmd)  # no connector is listening at all
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_FAILED)) == 1, timeout=15)
        (failed,) = recorder.of(cid, subjects.TEST_FAILED)
        checks = {c["name"]: c for c in failed["result"]["checks"]}
        assert "connector did not answer" in checks["exchange_status"]["detail"]
        assert failed["result"]["next_retry_at"] is not None

        connector = await FakeConnector(nc, "mexc", healthy).start()
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_PASSED)) == 1, timeout=15)
        # Whichever replica led, the retry was published and handled exactly once.
        started = [(body["test_id"], body["attempt"]) for body in recorder.of(cid, subjects.TEST_STARTED)]
        assert started == [(cmd.test_id, 1), (cmd.test_id, 2)]
        assert [r.test_id for r in connector.requests] == [cmd.test_id]
    finally:
        for replica in replicas:
            await replica.stop()
        if connector is not None:
            await connector.stop()


async def test_an_outage_longer_than_the_retries_heals_by_itself(nats_server: str, nc: Client) -> None:
    behaviour = Switch(exchange_down)
    connector = await FakeConnector(nc, "mexc", behaviour).start()
    recorder = await Recorder(nc).start()
    tester = await start_tester(nats_server, retry_max_attempts=2, outage_retest_s=2.0)
    try:
        cid = uuid.uuid4().hex
        cmd = command(cid)
        await send(nc, cmd)
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_FAILED)) == 2)
        final = recorder.of(cid, subjects.TEST_FAILED)[-1]["result"]
        assert final["attempt"] == 2 and final["next_retry_at"] is None  # retries ran out

        behaviour.answer = healthy  # the maintenance ends; nobody presses anything
        await recorder.wait_for(lambda: len(recorder.of(cid, subjects.TEST_PASSED)) == 1, timeout=15)
        (passed,) = recorder.of(cid, subjects.TEST_PASSED)
        assert passed["result"]["test_id"] != cmd.test_id  # a periodic re-test on the outage slot
    finally:
        await tester.stop()
        await connector.stop()
