"""The alert rules as pure functions: which alerts, in which order, and the next state."""

from __future__ import annotations

from datetime import timedelta

from bf_shared.codes import ErrorCode
from bf_shared.messages import ConnectionAdded
from bf_shared.notifications import AlertRule

from bf_alerter.domain import rules
from bf_alerter.domain.alerts import Severity
from bf_alerter.domain.state import ConnectionState, ExchangeState
from bf_alerter.domain.strategy import Envelope, parse_notice

from .alert_factories import T0, failed, passed

DOWN = timedelta(minutes=10)


def online(at=T0, name: str | None = None) -> ConnectionState:
    return ConnectionState(connection_id="c1", user_id="u1", exchange="mexc", status="online", as_of=at, name=name)


def test_withdraw_enabled_key_is_a_critical_alert_ranked_first() -> None:
    ev = rules.on_test_failed(failed(ErrorCode.WITHDRAW_ENABLED, T0 + timedelta(minutes=1)), online(), None, DOWN)
    assert [a.rule for a in ev.candidates] == [
        AlertRule.WITHDRAW_ENABLED, AlertRule.CONNECTION_OFFLINE, AlertRule.TEST_FAILED
    ]
    assert ev.candidates[0].severity is Severity.CRITICAL
    assert ev.candidates[0].code == "withdraw_enabled"
    assert ev.connection is not None and ev.connection.status == "failed"


def test_online_to_failed_is_connection_offline_and_the_text_names_the_connection() -> None:
    ev = rules.on_test_failed(failed(ErrorCode.INVALID_KEY, T0 + timedelta(minutes=1)), online(name="Main"), None, DOWN)
    offline = ev.candidates[0]
    assert offline.rule is AlertRule.CONNECTION_OFFLINE
    assert "'Main' (MEXC)" in offline.title
    assert "paused" in offline.text


def test_failure_of_a_connection_that_was_not_online_is_only_test_failed() -> None:
    ev = rules.on_test_failed(failed(ErrorCode.NO_TRADE_PERMISSION), None, None, DOWN)
    assert [a.rule for a in ev.candidates] == [AlertRule.TEST_FAILED]


def test_retryable_failures_are_not_notified_one_by_one() -> None:
    for code in (ErrorCode.EXCHANGE_UNAVAILABLE, ErrorCode.RATE_LIMITED, ErrorCode.CLOCK_SKEW):
        assert rules.on_test_failed(failed(code), None, None, DOWN).candidates == ()


def test_a_stale_failure_does_not_take_an_online_connection_offline() -> None:
    newer = online(at=T0 + timedelta(minutes=5))
    ev = rules.on_test_failed(failed(ErrorCode.INVALID_KEY, T0), newer, None, DOWN)
    assert AlertRule.CONNECTION_OFFLINE not in [a.rule for a in ev.candidates]
    assert ev.connection is None  # the newer verdict stays


def test_exchange_unavailable_fires_only_after_the_threshold_once_per_user_and_outage() -> None:
    exch: ExchangeState | None = None
    fired = []
    for minute in (0, 4, 9, 10, 14):
        ev = rules.on_test_failed(failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0 + timedelta(minutes=minute)), None, exch, DOWN)
        exch = ev.exchange
        fired += [a for a in ev.candidates if a.rule is AlertRule.EXCHANGE_UNAVAILABLE]
    assert [a.occurred_at for a in fired] == [T0 + timedelta(minutes=10), T0 + timedelta(minutes=14)]
    assert len({a.alert_id for a in fired}) == 1  # same outage, same user: one id, delivered once
    assert "10 minutes" in fired[0].title
    other_user = rules.on_test_failed(
        failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0 + timedelta(minutes=15), conn="c2", user="u2"), None, exch, DOWN
    )
    assert other_user.candidates[0].alert_id != fired[0].alert_id


def test_a_pass_ends_the_outage_and_a_new_outage_has_a_new_alert_id() -> None:
    ev = rules.on_test_failed(failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0), None, None, DOWN)
    ev = rules.on_test_failed(failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0 + DOWN), None, ev.exchange, DOWN)
    first = ev.candidates[0].alert_id
    ok = rules.on_test_passed(passed(T0 + DOWN + timedelta(minutes=1)), None, ev.exchange)
    assert ok.exchange is not None and ok.exchange.unavailable_since is None
    ev = rules.on_test_failed(failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0 + timedelta(hours=1)), None, ok.exchange, DOWN)
    assert ev.candidates == ()  # the new run starts now
    ev = rules.on_test_failed(failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0 + timedelta(hours=1) + DOWN), None, ev.exchange, DOWN)
    assert ev.candidates[0].alert_id != first


def test_a_key_error_proves_the_exchange_answered() -> None:
    ev = rules.on_test_failed(failed(ErrorCode.EXCHANGE_UNAVAILABLE, T0), None, None, DOWN)
    ev = rules.on_test_failed(failed(ErrorCode.INVALID_KEY, T0 + timedelta(minutes=1), conn="c2"), None, ev.exchange, DOWN)
    assert ev.exchange is not None and ev.exchange.unavailable_since is None


def test_alert_ids_are_deterministic_per_event_and_user() -> None:
    event = failed(ErrorCode.INVALID_KEY)
    a = rules.on_test_failed(event, None, None, DOWN).candidates[0]
    b = rules.on_test_failed(event, None, None, DOWN).candidates[0]
    c = rules.on_test_failed(failed(ErrorCode.INVALID_KEY), None, None, DOWN).candidates[0]
    assert a.alert_id == b.alert_id != c.alert_id


def test_pass_marks_online_and_keeps_the_name() -> None:
    named = rules.on_connection_named(
        ConnectionAdded(connection_id="c1", user_id="u1", exchange="mexc", name="Main", markets=("spot",),
                        api_key_masked="mx0v…3f2a", secret_version=1), None)
    assert named.connection is not None and named.connection.status == "untested"
    ev = rules.on_test_passed(passed(T0), named.connection, None)
    assert ev.connection is not None and ev.connection.status == "online" and ev.connection.name == "Main"


def _env(subject: str, body: bytes) -> Envelope:
    return Envelope(subject=subject, data=body, delivery_id="BF_EVENTS.7", published_at=T0)


def test_strategy_paused_and_lease_lost_from_foreign_event_bodies() -> None:
    body = b'{"strategy_id":"s1","user_id":"u1","connection_id":"c1","exchange":"kucoin","reason":"connection_offline","new_field":1}'
    paused = rules.on_strategy_paused(parse_notice(_env("bf.evt.strategy.paused", body)))
    (alert,) = paused.candidates
    assert alert.rule is AlertRule.STRATEGY_PAUSED and "connection_offline" in alert.text
    assert alert.source_event_id == "BF_EVENTS.7" and alert.occurred_at == T0
    lost = rules.on_lease_lost(parse_notice(_env("bf.evt.strategy.lease_lost", body)))
    assert lost.candidates[0].rule is AlertRule.LEASE_LOST
    anonymous = rules.on_strategy_paused(parse_notice(_env("bf.evt.strategy.paused", b'{"strategy_id":"s1"}')))
    assert anonymous.candidates == () and anonymous.notes
