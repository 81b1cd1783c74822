"""The lease-lost rule: the runner's StrategyLeaseLost becomes one alert for the strategy's owner."""

from __future__ import annotations

from datetime import timedelta

from bf_shared import subjects
from bf_shared.notifications import AlertRule, NotificationSettings
from bf_shared.strategy_messages import StrategyLeaseLost, lease_lost_id

from bf_alerter.domain.alerts import Severity
from bf_alerter.domain.strategy import Envelope
from bf_alerter.handlers import handle_event

from .alert_factories import T0
from .test_ops_alert_handler import make


def lost(new_owner: str = "runner-b-7-1f2e3d", delivery: str = "") -> tuple[Envelope, StrategyLeaseLost]:
    event = StrategyLeaseLost(
        message_id=lease_lost_id("s1", "sess-a"), occurred_at=T0 + timedelta(seconds=6), strategy_id="s1",
        user_id="alice", connection_id="c1", exchange="kucoin", name="BTC Grid", previous_owner="runner-a-3-9a8b7c",
        previous_session="sess-a", new_owner=new_owner, lost_at=T0 + timedelta(seconds=4),
    )
    env = Envelope(subject=subjects.STRATEGY_LEASE_LOST, data=event.model_dump_json().encode(),
                   delivery_id=delivery or event.message_id, published_at=T0 + timedelta(seconds=7))
    return env, event


async def test_a_takeover_notifies_the_strategy_owner_once_with_when_it_was_unattended() -> None:
    deps, _, _, webhook, logc = make()
    env, event = lost()
    alert = await handle_event(env, deps)
    assert alert is not None and [a.alert_id for a in webhook.sent] == [alert.alert_id] == [a.alert_id for a in logc.sent]
    assert alert.rule is AlertRule.LEASE_LOST and alert.severity is Severity.INFO
    assert alert.user_id == "alice"  # the strategy's owner
    assert (alert.strategy_id, alert.connection_id, alert.exchange) == ("s1", "c1", "kucoin")
    assert alert.source_event_id == event.message_id and alert.occurred_at == event.occurred_at
    assert alert.title == "'BTC Grid' moved to another runner"
    assert "Another runner took it over and continues from the saved state" in alert.text
    assert "The lease ran out at 2026-01-01 12:00:04 UTC and the takeover came at 2026-01-01 12:00:06 UTC" in alert.text
    assert "no order is placed twice" in alert.text
    assert "runner-a" not in alert.one_line() and "runner-b" not in alert.one_line()  # infrastructure names

    # Redelivered, or published again by a second runner (same message id, new stream sequence).
    await handle_event(env, deps)
    await handle_event(lost(delivery="BF_EVENTS.99")[0], deps)
    assert len(webhook.sent) == 1


async def test_a_runner_taking_its_own_strategy_back_says_so() -> None:
    deps, *_ = make()
    alert = await handle_event(lost(new_owner="runner-a-3-9a8b7c")[0], deps)
    assert alert is not None and alert.user_id == "alice"
    assert alert.title == "'BTC Grid' resumed after its runner lost its lease"
    assert "The same runner took it back" in alert.text


async def test_a_muted_lease_lost_rule_notifies_nobody() -> None:
    rules = tuple(r for r in AlertRule if r is not AlertRule.LEASE_LOST)
    deps, _, _, webhook, logc = make(NotificationSettings(user_id="alice", enabled_rules=rules))
    assert await handle_event(lost()[0], deps) is None
    assert webhook.sent == [] and logc.sent == []
