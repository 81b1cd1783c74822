"""Projection of bus messages onto audit records (pure).

What is audited (one immutable record each):

* every connection change: added, renamed, credentials rotated, deleted, withdraw attestation;
* a test the user asked for (``test.requested`` with reason ``manual``) — tests started by
  the system follow from an audited change or are periodic/retries and are not requests;
* every test verdict, except repeated ``exchange_unavailable``/``rate_limited``/``clock_skew``
  failures of an automatic retry (attempt > 1): an outage would otherwise write a record per
  retry; its first failure and the final verdict are kept;
* every strategy change: enabled, updated, disabled, paused, resumed.
"""

from __future__ import annotations

from bf_shared import subjects
from bf_shared.audit import AuditKind, AuditRecord, AuditValue
from bf_shared.codes import should_retry
from bf_shared.exchanges import get_exchange
from bf_shared.messages import (
    ConnectionAdded,
    ConnectionAttested,
    ConnectionCredentialsRotated,
    ConnectionDeleted,
    ConnectionRenamed,
    TestFailed,
    TestPassed,
    TestReason,
    TestRequested,
)

from bf_alerter.domain.strategy import Envelope, parse_notice

_STRATEGY_KINDS: dict[str, tuple[AuditKind, str]] = {
    subjects.STRATEGY_ENABLED: (AuditKind.STRATEGY_ENABLED, "user"),
    subjects.STRATEGY_UPDATED: (AuditKind.STRATEGY_UPDATED, "user"),
    subjects.STRATEGY_DISABLED: (AuditKind.STRATEGY_DISABLED, "user"),
    subjects.STRATEGY_PAUSED: (AuditKind.STRATEGY_PAUSED, "system"),
    subjects.STRATEGY_RESUMED: (AuditKind.STRATEGY_RESUMED, "system"),
}

#: Subjects the projector reads (events stream and the test-requested command).
AUDITED_SUBJECTS: frozenset[str] = frozenset(
    {
        subjects.CONNECTION_ADDED,
        subjects.CONNECTION_RENAMED,
        subjects.CONNECTION_CREDENTIALS_ROTATED,
        subjects.CONNECTION_DELETED,
        subjects.CONNECTION_ATTESTED,
        subjects.TEST_REQUESTED,
        subjects.TEST_PASSED,
        subjects.TEST_FAILED,
        *_STRATEGY_KINDS,
    }
)


def _ex(exchange: str) -> str:
    info = get_exchange(exchange)
    return info.name if info else exchange


def project(envelope: Envelope) -> AuditRecord | None:
    """The audit record for one bus message, or None when it is not audited."""
    subject, data = envelope.subject, envelope.data
    if subject == subjects.CONNECTION_ADDED:
        a = ConnectionAdded.model_validate_json(data)
        return AuditRecord(
            record_id=a.message_id, user_id=a.user_id, kind=AuditKind.CONNECTION_ADDED, actor="user",
            occurred_at=a.occurred_at, source_subject=subject, connection_id=a.connection_id,
            summary=f"Connection '{a.name}' added on {_ex(a.exchange)} with key {a.api_key_masked}",
            details={"exchange": a.exchange, "name": a.name, "markets": tuple(a.markets),
                     "api_key_masked": a.api_key_masked, "secret_version": a.secret_version},
        )
    if subject == subjects.CONNECTION_RENAMED:
        r = ConnectionRenamed.model_validate_json(data)
        return AuditRecord(
            record_id=r.message_id, user_id=r.user_id, kind=AuditKind.CONNECTION_RENAMED, actor="user",
            occurred_at=r.occurred_at, source_subject=subject, connection_id=r.connection_id,
            summary=f"Connection renamed to '{r.name}'", details={"name": r.name},
        )
    if subject == subjects.CONNECTION_CREDENTIALS_ROTATED:
        c = ConnectionCredentialsRotated.model_validate_json(data)
        return AuditRecord(
            record_id=c.message_id, user_id=c.user_id, kind=AuditKind.CREDENTIALS_ROTATED, actor="user",
            occurred_at=c.occurred_at, source_subject=subject, connection_id=c.connection_id,
            summary=f"API key replaced on {_ex(c.exchange)}: now {c.api_key_masked} (version {c.secret_version})",
            details={"exchange": c.exchange, "api_key_masked": c.api_key_masked, "secret_version": c.secret_version},
        )
    if subject == subjects.CONNECTION_DELETED:
        d = ConnectionDeleted.model_validate_json(data)
        return AuditRecord(
            record_id=d.message_id, user_id=d.user_id, kind=AuditKind.CONNECTION_DELETED, actor="user",
            occurred_at=d.occurred_at, source_subject=subject, connection_id=d.connection_id,
            summary=f"Connection on {_ex(d.exchange)} deleted; every version of its secret destroyed",
            details={"exchange": d.exchange},
        )
    if subject == subjects.CONNECTION_ATTESTED:
        t = ConnectionAttested.model_validate_json(data)
        return AuditRecord(
            record_id=t.message_id, user_id=t.user_id, kind=AuditKind.CONNECTION_ATTESTED, actor="user",
            occurred_at=t.occurred_at, source_subject=subject, connection_id=t.connection_id,
            summary="User confirmed that withdrawal is disabled on the API key",
            details={"withdraw_disabled": True},
        )
    if subject == subjects.TEST_REQUESTED:
        q = TestRequested.model_validate_json(data)
        if q.reason is not TestReason.MANUAL:
            return None
        return AuditRecord(
            record_id=q.message_id, user_id=q.user_id, kind=AuditKind.TEST_REQUESTED, actor="user",
            occurred_at=q.occurred_at, source_subject=subject, connection_id=q.connection_id,
            summary=f"Connection test requested on {_ex(q.exchange)}",
            details={"test_id": q.test_id, "exchange": q.exchange},
        )
    if subject in (subjects.TEST_PASSED, subjects.TEST_FAILED):
        return _verdict(envelope)
    if subject in _STRATEGY_KINDS:
        kind, actor = _STRATEGY_KINDS[subject]
        n = parse_notice(envelope)
        if not n.user_id or n.message_id is None or n.occurred_at is None:
            return None
        what = f"'{n.name}'" if n.name else "Strategy"
        verb = kind.value.removeprefix("strategy_")
        return AuditRecord(
            record_id=n.message_id, user_id=n.user_id, kind=kind, actor="user" if actor == "user" else "system",
            occurred_at=n.occurred_at, source_subject=subject, connection_id=n.connection_id,
            strategy_id=n.strategy_id,
            summary=f"{what} {verb}" + (f": {n.reason}" if n.reason else ""),
            details={"reason": n.reason, "status": n.status},
        )
    return None


def _verdict(envelope: Envelope) -> AuditRecord | None:
    passed = envelope.subject == subjects.TEST_PASSED
    v: TestPassed | TestFailed = (TestPassed if passed else TestFailed).model_validate_json(envelope.data)
    r = v.result
    code = r.error.code if r.error else None
    if not passed and should_retry(code) and r.attempt > 1:
        return None
    p = r.permissions
    details: dict[str, AuditValue] = {
        "test_id": r.test_id, "exchange": v.exchange, "status": r.status, "code": code.value if code else None,
        "attempt": r.attempt, "read": p.read, "trade": p.trade, "withdraw": p.withdraw, "futures": p.futures,
        "ip_restricted": r.ip_restricted,
    }
    summary = (
        f"Connection test passed on {_ex(v.exchange)}"
        if passed
        else f"Connection test failed on {_ex(v.exchange)}: {code.value if code else 'unknown'}"
    )
    return AuditRecord(
        record_id=v.message_id, user_id=v.user_id, kind=AuditKind.TEST_PASSED if passed else AuditKind.TEST_FAILED,
        actor="system", occurred_at=r.finished_at, source_subject=envelope.subject,
        connection_id=v.connection_id, summary=summary, details=details,
    )
