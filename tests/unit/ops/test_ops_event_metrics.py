"""The shared consumption metrics: counted per subject, labels only from a fixed vocabulary."""

from __future__ import annotations

import pytest
from faststream.exceptions import AckMessage
from faststream.nats import TestNatsBroker
from nats.aio.msg import Msg
from prometheus_client import REGISTRY

from bf_shared.bus import make_broker
from bf_shared.metrics import _num_delivered, register_subject_tokens, subject_label


def value(name: str, service: str, subject: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": service, "subject": subject}) or 0.0


@pytest.mark.parametrize(
    ("subject", "label"),
    [
        ("bf.evt.test.failed", "bf.evt.test.failed"),
        ("bf.audit.0f3a9c.connection_added", "bf.audit.*.connection_added"),
        ("bf.rpc.connector.kucoin.probe", "bf.rpc.connector.kucoin.probe"),
        ("bf.md.mexc.BTC_USDT", "bf.md.mexc.*"),
        ("bf.evt.connection.mx0vglSECRETKEY", "bf.evt.connection.*"),
        ("a.b.c.d.e.f.g.h.i.j", "*.*.*.*.*.*.*.*.>"),
    ],
)
def test_subject_labels_keep_only_known_words(subject: str, label: str) -> None:
    assert subject_label(subject) == label


def test_registered_tokens_become_label_words() -> None:
    assert subject_label("bf.evt.strategy.some_new_event_x") == "bf.evt.strategy.*"
    register_subject_tokens("some_new_event_x")
    assert subject_label("bf.evt.strategy.some_new_event_x") == "bf.evt.strategy.some_new_event_x"


def test_redelivery_is_read_from_the_jetstream_ack_subject() -> None:
    js = Msg(None, subject="bf.evt.test.failed", reply="$JS.ACK.BF_EVENTS.alerter.3.10.20.1700000000000000000.0")  # type: ignore[arg-type]
    first = Msg(None, subject="bf.evt.test.failed", reply="$JS.ACK.BF_EVENTS.alerter.1.11.21.1700000000000000000.0")  # type: ignore[arg-type]
    core = Msg(None, subject="bf.rpc.connector.mexc.probe", reply="_INBOX.abc")  # type: ignore[arg-type]
    assert (_num_delivered(js), _num_delivered(first), _num_delivered(core)) == (3, 1, 1)


async def test_every_broker_counts_consumed_and_failed_messages_per_subject() -> None:
    broker = make_broker("nats://127.0.0.1:4222", "metrics-test")
    calls: list[str] = []

    @broker.subscriber("bf.evt.test.failed")
    async def flaky(body: dict) -> None:
        calls.append("x")
        if len(calls) == 1:
            raise RuntimeError("boom")

    @broker.subscriber("bf.evt.test.passed")
    async def skipper(body: dict) -> None:
        raise AckMessage()

    before = {n: value(n, "metrics-test", "bf.evt.test.failed") for n in ("bf_events_consumed_total", "bf_events_failed_total")}
    async with TestNatsBroker(broker) as br:
        with pytest.raises(RuntimeError):
            await br.publish({"a": 1}, "bf.evt.test.failed")
        await br.publish({"a": 2}, "bf.evt.test.failed")
        await br.publish({"a": 3}, "bf.evt.test.passed")
    assert value("bf_events_consumed_total", "metrics-test", "bf.evt.test.failed") - before["bf_events_consumed_total"] == 2
    assert value("bf_events_failed_total", "metrics-test", "bf.evt.test.failed") - before["bf_events_failed_total"] == 1
    assert value("bf_events_failed_total", "metrics-test", "bf.evt.test.passed") == 0
    assert value("bf_events_consumed_total", "metrics-test", "bf.evt.test.passed") == 1
    assert REGISTRY.get_sample_value("bf_event_handling_seconds_count", {"service": "metrics-test", "subject": "bf.evt.test.failed"}) == 2
