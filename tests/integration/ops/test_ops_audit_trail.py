"""The audit trail on real NATS: the projector's sink writes, the gateway's reader pages it back."""

from __future__ import annotations

import json
from typing import Any

from nats.aio.client import Client as NatsClient

from bf_shared import subjects
from bf_shared.audit import AuditKind, AuditRecord
from bf_shared.bus import ensure_streams
from bf_shared.messages import ConnectionAttested, new_id

from bf_alerter.adapters.kv import JetStreamAuditSink
from bf_alerter.domain.audit import project
from bf_alerter.domain.strategy import Envelope
from bf_gateway.audit.reader import JetStreamAuditReader


async def test_records_page_back_newest_first_and_a_redelivery_is_stored_once(nats_connection: NatsClient) -> None:
    js = nats_connection.jetstream()
    await ensure_streams(js)
    user = new_id()
    sink = JetStreamAuditSink(js)

    attested = ConnectionAttested(connection_id="c1", user_id=user)
    env = Envelope(subject=subjects.CONNECTION_ATTESTED, data=attested.model_dump_json().encode(),
                   delivery_id=attested.message_id, published_at=attested.occurred_at)
    record = project(env)
    assert record is not None
    await sink.append(record)
    await sink.append(record)  # a redelivery: stored once
    for n in range(5):
        await sink.append(AuditRecord(record_id=new_id(), user_id=user, kind=AuditKind.TEST_PASSED, actor="system",
                                      occurred_at=attested.occurred_at, source_subject=subjects.TEST_PASSED,
                                      summary=f"test {n}", details={"n": n}))
    await sink.append(AuditRecord(record_id=new_id(), user_id=new_id(), kind=AuditKind.TEST_PASSED, actor="system",
                                  occurred_at=attested.occurred_at, source_subject=subjects.TEST_PASSED, summary="other"))

    reader = JetStreamAuditReader(js, batch=2)
    first = await reader.page(user, limit=4, before=None)
    assert [r.summary for _, r in first.records] == ["test 4", "test 3", "test 2", "test 1"]
    assert first.next_before is not None
    rest = await reader.page(user, limit=4, before=first.next_before)
    kinds: list[Any] = [r.kind for _, r in rest.records]
    assert kinds == [AuditKind.TEST_PASSED, AuditKind.CONNECTION_ATTESTED] and rest.next_before is None
    assert json.loads(rest.records[1][1].model_dump_json())["details"] == {"withdraw_disabled": True}
