"""Which bus messages become audit records, and what those records say (never a secret)."""

from __future__ import annotations

from datetime import timedelta

from bf_shared import subjects
from bf_shared.audit import AuditKind, audit_subject, user_audit_filter
from bf_shared.codes import ErrorCode
from bf_shared.messages import (
    ConnectionAdded,
    ConnectionAttested,
    ConnectionCredentialsRotated,
    ConnectionDeleted,
    TestReason,
    TestRequested,
)

import pytest

from bf_alerter.adapters.memory import MemoryAuditSink
from bf_alerter.domain.audit import AUDITED_SUBJECTS, project
from bf_alerter.domain.strategy import Envelope
from bf_alerter.handlers import project_audit

from .alert_factories import T0, failed, passed


def env(subject: str, message) -> Envelope:
    return Envelope(subject=subject, data=message.model_dump_json().encode(), delivery_id="d", published_at=T0)


ADDED = ConnectionAdded(connection_id="c1", user_id="u1", exchange="kucoin", name="Main", markets=("spot", "futures"),
                        api_key_masked="6543…ab12", secret_version=1)


def test_connection_added_record_has_the_masked_key_and_user_actor() -> None:
    record = project(env(subjects.CONNECTION_ADDED, ADDED))
    assert record is not None
    assert record.record_id == ADDED.message_id and record.kind is AuditKind.CONNECTION_ADDED
    assert record.actor == "user" and record.user_id == "u1" and record.connection_id == "c1"
    assert "6543…ab12" in record.summary and "KuCoin" in record.summary
    assert record.details["markets"] == ("spot", "futures")


def test_every_connection_change_is_audited() -> None:
    cases = [
        (subjects.CONNECTION_CREDENTIALS_ROTATED, ConnectionCredentialsRotated(
            connection_id="c1", user_id="u1", exchange="mexc", api_key_masked="mx0v…3f2a", secret_version=2),
         AuditKind.CREDENTIALS_ROTATED),
        (subjects.CONNECTION_DELETED, ConnectionDeleted(connection_id="c1", user_id="u1", exchange="mexc"),
         AuditKind.CONNECTION_DELETED),
        (subjects.CONNECTION_ATTESTED, ConnectionAttested(connection_id="c1", user_id="u1"),
         AuditKind.CONNECTION_ATTESTED),
    ]
    for subject, message, kind in cases:
        record = project(env(subject, message))
        assert record is not None and record.kind is kind and record.record_id == message.message_id


def test_only_user_requested_tests_are_recorded_as_requests() -> None:
    manual = TestRequested(connection_id="c1", user_id="u1", exchange="mexc", markets=("spot",), reason=TestReason.MANUAL)
    periodic = manual.model_copy(update={"reason": TestReason.PERIODIC})
    assert project(env(subjects.TEST_REQUESTED, manual)) is not None
    assert project(env(subjects.TEST_REQUESTED, periodic)) is None


def test_verdicts_are_recorded_but_not_every_outage_retry() -> None:
    ok = project(env(subjects.TEST_PASSED, passed(T0)))
    assert ok is not None and ok.kind is AuditKind.TEST_PASSED and ok.actor == "system"
    bad = project(env(subjects.TEST_FAILED, failed(ErrorCode.WITHDRAW_ENABLED)))
    assert bad is not None and bad.details["code"] == "withdraw_enabled" and bad.details["withdraw"] is True
    first_outage = failed(ErrorCode.EXCHANGE_UNAVAILABLE, attempt=1)
    retry = failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0 + timedelta(minutes=1), attempt=2)
    assert project(env(subjects.TEST_FAILED, first_outage)) is not None
    assert project(env(subjects.TEST_FAILED, retry)) is None


def test_strategy_events_are_audited_from_their_bodies() -> None:
    body = b'{"message_id":"m9","strategy_id":"s1","user_id":"u1","connection_id":"c1","exchange":"mexc","reason":"connection_offline"}'
    record = project(Envelope(subject=subjects.STRATEGY_PAUSED, data=body, delivery_id="d", published_at=T0))
    assert record is not None and record.kind is AuditKind.STRATEGY_PAUSED and record.strategy_id == "s1"
    assert record.record_id == "m9" and record.actor == "system"


def test_unaudited_subjects_yield_nothing() -> None:
    assert project(Envelope(subject=subjects.TEST_STARTED, data=b"{}", delivery_id="d", published_at=T0)) is None
    assert subjects.TEST_STARTED not in AUDITED_SUBJECTS


async def test_projecting_the_same_message_twice_keeps_one_record() -> None:
    sink = MemoryAuditSink()
    assert await project_audit(env(subjects.CONNECTION_ADDED, ADDED), sink)
    assert await project_audit(env(subjects.CONNECTION_ADDED, ADDED), sink)
    assert list(sink.records) == [ADDED.message_id]


def test_audit_subjects_refuse_ids_that_would_change_the_subject() -> None:
    assert audit_subject("u1", AuditKind.CONNECTION_ADDED) == "bf.audit.u1.connection_added"
    assert user_audit_filter("u1") == "bf.audit.u1.>"
    for bad in ("", "u.1", "u*", "u>", "u 1"):
        with pytest.raises(ValueError):
            audit_subject(bad, AuditKind.CONNECTION_ADDED)
