"""Handlers: decode an event, evaluate the rules against stored state, notify, store state.

Order matters for exactly-once notification on an at-least-once bus: alerts are delivered
*before* the new state is saved. A crash in between redelivers the event; it is evaluated
against the old state again, yields the same deterministic alert ids, and the ledger skips
what was already sent. A concurrent update of the state raises :class:`Conflict`, the
event is redelivered and re-evaluated against the fresh state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter

from bf_shared import subjects
from bf_shared.messages import ConnectionAdded, ConnectionDeleted, ConnectionRenamed, TestFailed, TestPassed

from bf_alerter.domain import rules
from bf_alerter.domain.alerts import Alert
from bf_alerter.domain.audit import project
from bf_alerter.domain.rules import Evaluation
from bf_alerter.domain.state import ConnectionState
from bf_alerter.domain.strategy import Envelope, parse_notice
from bf_alerter.ports import AuditSink, Channel, DeadLetter, Ledger, Revision, SettingsStore, StateStore

log = logging.getLogger(__name__)

ALERTS_RAISED = Counter("bf_alerts_raised_total", "Alerts decided by a rule", ["rule"])
ALERT_DELIVERIES = Counter(
    "bf_alert_deliveries_total",
    "Alert deliveries per channel: delivered, dead_lettered, duplicate, muted, stale",
    ["channel", "outcome"],
)
AUDIT_RECORDS = Counter("bf_audit_records_total", "Audit records appended", ["kind"])

@dataclass(frozen=True)
class AlertDeps:
    """Everything :func:`handle_event` needs, injected."""

    state: StateStore
    settings: SettingsStore
    ledger: Ledger
    channels: Sequence[Channel]
    clock: Callable[[], datetime]
    down_after: timedelta
    max_age: timedelta
    keepalive: Callable[[], Awaitable[None]] | None = None


async def _evaluate(env: Envelope, deps: AlertDeps) -> tuple[Evaluation, str | None, Revision, str | None, Revision]:
    """The evaluation plus the keys/revisions of the state it read."""
    s = env.subject
    if s in (subjects.TEST_FAILED, subjects.TEST_PASSED):
        verdict: TestFailed | TestPassed = (TestFailed if s == subjects.TEST_FAILED else TestPassed).model_validate_json(
            env.data
        )
        conn, conn_rev = await deps.state.connection(verdict.connection_id)
        exch, exch_rev = await deps.state.exchange(verdict.exchange)
        if isinstance(verdict, TestFailed):
            ev = rules.on_test_failed(verdict, conn, exch, deps.down_after)
        else:
            ev = rules.on_test_passed(verdict, conn, exch)
        return ev, verdict.connection_id, conn_rev, verdict.exchange, exch_rev
    if s in (subjects.CONNECTION_ADDED, subjects.CONNECTION_RENAMED):
        named = (ConnectionAdded if s == subjects.CONNECTION_ADDED else ConnectionRenamed).model_validate_json(env.data)
        conn, conn_rev = await deps.state.connection(named.connection_id)
        return rules.on_connection_named(named, conn), named.connection_id, conn_rev, None, None
    if s == subjects.CONNECTION_DELETED:
        deleted = ConnectionDeleted.model_validate_json(env.data)
        return Evaluation(forget_connection=True), deleted.connection_id, None, None, None
    if s == subjects.STRATEGY_PAUSED:
        return rules.on_strategy_paused(parse_notice(env)), None, None, None, None
    if s == subjects.STRATEGY_LEASE_LOST:
        return rules.on_lease_lost(parse_notice(env)), None, None, None, None
    return Evaluation(), None, None, None, None


async def handle_event(env: Envelope, deps: AlertDeps) -> Alert | None:
    """Apply the rules to one event; returns the alert that was notified, if any."""
    ev, conn_key, conn_rev, exch_key, exch_rev = await _evaluate(env, deps)
    for note in ev.notes:
        log.info("%s (%s)", note, env.subject)
    chosen = await _notify(ev.candidates, deps) if ev.candidates else None
    if ev.forget_connection and conn_key is not None:
        await deps.state.forget_connection(conn_key)
    if ev.connection is not None:
        await deps.state.save_connection(ev.connection, conn_rev)
    if ev.exchange is not None and exch_key is not None:
        await deps.state.save_exchange(ev.exchange, exch_rev)
    return chosen


async def _notify(candidates: Sequence[Alert], deps: AlertDeps) -> Alert | None:
    settings = await deps.settings.get(candidates[0].user_id)
    alert = next((a for a in candidates if settings.wants(a.rule)), None)
    if alert is None:
        for a in candidates:
            ALERT_DELIVERIES.labels("all", "muted").inc()
            log.info("alert %s (%s) muted by the user's settings", a.alert_id, a.rule.value)
        return None
    ALERTS_RAISED.labels(alert.rule.value).inc()
    stale = deps.clock() - alert.occurred_at > deps.max_age
    for channel in deps.channels:
        target = channel.target(settings)
        if target is None:
            continue
        if await deps.ledger.done(alert.alert_id, channel.name):
            ALERT_DELIVERIES.labels(channel.name, "duplicate").inc()
            continue
        if stale and channel.name != "log":
            # Replaying an old backlog (the alerter was down): the log keeps it, nobody is paged.
            ALERT_DELIVERIES.labels(channel.name, "stale").inc()
            await deps.ledger.mark_sent(alert.alert_id, channel.name)
            continue
        if deps.keepalive is not None:
            await deps.keepalive()
        delivery = await channel.send(alert, settings)
        if delivery.ok:
            await deps.ledger.mark_sent(alert.alert_id, channel.name)
            ALERT_DELIVERIES.labels(channel.name, "delivered").inc()
        else:
            await deps.ledger.dead_letter(
                DeadLetter(alert=alert, channel=channel.name, target=target, attempts=delivery.attempts,
                           last_error=delivery.error, failed_at=deps.clock())
            )
            ALERT_DELIVERIES.labels(channel.name, "dead_lettered").inc()
            log.warning("alert %s dead-lettered on %s after %d attempts: %s",
                        alert.alert_id, channel.name, delivery.attempts, delivery.error)
    return alert


async def project_audit(env: Envelope, sink: AuditSink) -> bool:
    """Append the audit record for one bus message; False when the message is not audited."""
    record = project(env)
    if record is None:
        return False
    await sink.append(record)
    AUDIT_RECORDS.labels(record.kind.value).inc()
    return True


__all__ = ["AlertDeps", "ConnectionState", "handle_event", "project_audit"]
