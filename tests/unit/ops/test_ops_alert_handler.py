"""The alerting handler over the in-memory ports: one notification per event, dedup, dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from bf_shared import subjects
from bf_shared.codes import ErrorCode
from bf_shared.messages import ConnectionDeleted
from bf_shared.notifications import AlertRule, NotificationSettings

from bf_alerter.adapters.memory import MemoryLedger, MemorySettingsStore, MemoryStateStore, RecordingChannel
from bf_alerter.domain.strategy import Envelope
from bf_alerter.handlers import AlertDeps, handle_event
from bf_alerter.ports import Conflict

from .alert_factories import T0, failed, passed


def env(subject: str, message) -> Envelope:
    return Envelope(subject=subject, data=message.model_dump_json().encode(), delivery_id=message.message_id,
                    published_at=T0)


def make(*settings: NotificationSettings, fail: str = "", now=T0 + timedelta(minutes=1)):
    state, ledger = MemoryStateStore(), MemoryLedger()
    webhook, logc = RecordingChannel("webhook", fail_with=fail), RecordingChannel("log")
    deps = AlertDeps(state=state, settings=MemorySettingsStore(*settings), ledger=ledger, channels=[logc, webhook],
                     clock=lambda: now, down_after=timedelta(minutes=10), max_age=timedelta(hours=1))
    return deps, state, ledger, webhook, logc


async def test_online_then_withdraw_enabled_sends_one_critical_alert_on_each_channel() -> None:
    deps, state, _, webhook, logc = make()
    await handle_event(env(subjects.TEST_PASSED, passed(T0)), deps)
    assert webhook.sent == []
    alert = await handle_event(env(subjects.TEST_FAILED, failed(ErrorCode.WITHDRAW_ENABLED, T0 + timedelta(seconds=30))), deps)
    assert alert is not None and alert.rule is AlertRule.WITHDRAW_ENABLED
    assert [a.alert_id for a in webhook.sent] == [alert.alert_id] == [a.alert_id for a in logc.sent]
    conn, _ = await state.connection("c1")
    assert conn is not None and conn.status == "failed"


async def test_a_redelivered_event_never_notifies_twice() -> None:
    deps, _, _, webhook, _ = make()
    event = env(subjects.TEST_FAILED, failed(ErrorCode.INVALID_KEY))
    await handle_event(event, deps)
    await handle_event(event, deps)
    assert len(webhook.sent) == 1


async def test_crash_after_delivery_before_state_save_does_not_resend() -> None:
    deps, state, _, webhook, _ = make()
    await handle_event(env(subjects.TEST_PASSED, passed(T0)), deps)
    offline = env(subjects.TEST_FAILED, failed(ErrorCode.INVALID_KEY, T0 + timedelta(seconds=5)))

    original = state.save_connection

    async def crash(*a, **k):
        raise ConnectionError("store went away")

    state.save_connection = crash  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await handle_event(offline, deps)
    state.save_connection = original  # type: ignore[method-assign]
    await handle_event(offline, deps)  # the redelivery: same old state, same alert id
    assert [a.rule for a in webhook.sent] == [AlertRule.CONNECTION_OFFLINE]
    conn, _ = await state.connection("c1")
    assert conn is not None and conn.status == "failed"


async def test_a_concurrent_state_update_makes_the_handler_raise_conflict() -> None:
    deps, state, _, _, _ = make()
    await handle_event(env(subjects.TEST_PASSED, passed(T0)), deps)
    read = state.connection

    async def read_then_someone_else_writes(connection_id: str):
        found = await read(connection_id)
        assert found[0] is not None
        await state.save_connection(found[0].model_copy(update={"as_of": T0 + timedelta(seconds=1)}), found[1])
        return found

    state.connection = read_then_someone_else_writes  # type: ignore[method-assign]
    with pytest.raises(Conflict):
        await handle_event(env(subjects.TEST_PASSED, passed(T0 + timedelta(seconds=2))), deps)


async def test_muted_rule_falls_back_to_the_next_enabled_rule() -> None:
    settings = NotificationSettings(user_id="u1", enabled_rules=(AlertRule.TEST_FAILED,))
    deps, _, _, webhook, _ = make(settings)
    await handle_event(env(subjects.TEST_PASSED, passed(T0)), deps)
    alert = await handle_event(env(subjects.TEST_FAILED, failed(ErrorCode.WITHDRAW_ENABLED, T0 + timedelta(seconds=1))), deps)
    assert alert is not None and alert.rule is AlertRule.TEST_FAILED


async def test_every_rule_muted_sends_nothing() -> None:
    deps, _, _, webhook, logc = make(NotificationSettings(user_id="u1", enabled_rules=()))
    assert await handle_event(env(subjects.TEST_FAILED, failed(ErrorCode.INVALID_KEY)), deps) is None
    assert webhook.sent == [] and logc.sent == []


async def test_failed_delivery_is_dead_lettered_once_with_host_only() -> None:
    deps, _, ledger, webhook, _ = make(fail="server_error: HTTP 500")
    event = env(subjects.TEST_FAILED, failed(ErrorCode.INVALID_KEY))
    await handle_event(event, deps)
    await handle_event(event, deps)
    assert len(ledger.dead) == 1 and len(webhook.sent) == 1
    letter = ledger.dead[0]
    assert letter.channel == "webhook" and letter.attempts == 3 and letter.target == "webhook://test"


async def test_old_backlog_goes_to_the_log_only() -> None:
    deps, _, _, webhook, logc = make(now=T0 + timedelta(days=2))
    await handle_event(env(subjects.TEST_FAILED, failed(ErrorCode.INVALID_KEY)), deps)
    assert webhook.sent == [] and len(logc.sent) == 1


async def test_unconfigured_channel_is_skipped() -> None:
    deps, _, ledger, _, logc = make()
    silent = RecordingChannel("telegram", configured=False)
    deps = AlertDeps(**{**deps.__dict__, "channels": [logc, silent]})
    await handle_event(env(subjects.TEST_FAILED, failed(ErrorCode.INVALID_KEY)), deps)
    assert silent.sent == [] and ("telegram" not in {c for _, c in ledger.marks})


async def test_deleted_connection_state_is_forgotten() -> None:
    deps, state, _, _, _ = make()
    await handle_event(env(subjects.TEST_PASSED, passed(T0)), deps)
    await handle_event(env(subjects.CONNECTION_DELETED, ConnectionDeleted(connection_id="c1", user_id="u1", exchange="mexc")), deps)
    assert await state.connection("c1") == (None, None)


async def test_unknown_subjects_are_ignored() -> None:
    deps, _, _, webhook, _ = make()
    assert await handle_event(Envelope(subject="bf.evt.something.new", data=b"{}", delivery_id="x", published_at=T0), deps) is None
    assert webhook.sent == []


async def test_settings_secret_is_not_in_the_alert() -> None:
    settings = NotificationSettings(user_id="u1", webhook_url="https://hooks.example/x", webhook_secret=SecretStr("whsec_canary_0123456789"))
    deps, _, _, webhook, _ = make(settings)
    await handle_event(env(subjects.TEST_FAILED, failed(ErrorCode.INVALID_KEY)), deps)
    assert b"whsec_canary" not in webhook.sent[0].webhook_body()
