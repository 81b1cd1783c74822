"""Webhook delivery against a real loopback receiver: signature, retries, permanent failures, SSRF."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from pydantic import SecretStr

from bf_shared.notifications import AlertRule, NotificationSettings, new_webhook_secret

from bf_alerter.adapters.retry import Outcome, RetryPolicy, outcome_of_status, should_retry
from bf_alerter.adapters.webhook import WebhookChannel, describe_target, is_public, sign, verify
from bf_alerter.domain.alerts import Alert, Severity

from .alert_factories import T0
from .webhook_receiver import Receiver

SECRET = new_webhook_secret()
ALERT = Alert(alert_id="a" * 32, rule=AlertRule.WITHDRAW_ENABLED, severity=Severity.CRITICAL, user_id="u1",
              title="API key can withdraw", text="Create a new key.", occurred_at=T0, source_event_id="m1",
              exchange="mexc", connection_id="c1", code="withdraw_enabled")
FAST = RetryPolicy(attempts=4, base_s=0.01, max_s=0.02)


def settings(url: str) -> NotificationSettings:
    return NotificationSettings(user_id="u1", webhook_url=url, webhook_secret=SecretStr(SECRET))


async def no_sleep(_: float) -> None:
    return None


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = ALERT.webhook_body()
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body) == f"sha256={expected}"
    assert verify(SECRET, body, f"sha256={expected}")
    assert not verify(SECRET, body + b" ", f"sha256={expected}")
    assert json.loads(body)["id"] == ALERT.alert_id


def test_retry_policy_is_exponential_and_capped() -> None:
    policy = RetryPolicy(attempts=6, base_s=0.5, factor=2, max_s=3)
    assert [policy.delay_before(n) for n in range(1, 7)] == [0, 0.5, 1, 2, 3, 3]
    assert [s for s in (200, 204, 302, 400, 401, 404, 408, 429, 500, 503) if should_retry(outcome_of_status(s))] == [408, 429, 500, 503]


async def test_retry_after_500_then_delivered_with_a_verifiable_signature() -> None:
    async with Receiver(statuses=[500, 502, 200]) as rx:
        async with WebhookChannel.make_session(allow_private=True) as session:
            channel = WebhookChannel(session, FAST, allow_private=True, sleep=no_sleep)
            delivery = await channel.send(ALERT, settings(rx.url))
    assert delivery.ok and delivery.attempts == 3
    assert len(rx.received) == 3 and len({r.body for r in rx.received}) == 1  # same bytes every attempt
    for r in rx.received:
        assert verify(SECRET, r.body, r.headers["X-Signature"])
        assert r.headers["X-Alert-Id"] == ALERT.alert_id
        assert r.headers["Content-Type"] == "application/json"


async def test_a_4xx_is_permanent_and_not_retried() -> None:
    async with Receiver(statuses=[410]) as rx:
        async with WebhookChannel.make_session(allow_private=True) as session:
            delivery = await WebhookChannel(session, FAST, allow_private=True, sleep=no_sleep).send(ALERT, settings(rx.url))
    assert not delivery.ok and delivery.attempts == 1 and delivery.error.startswith("rejected")


async def test_redirects_are_not_followed() -> None:
    async with Receiver(statuses=[302, 200]) as rx:
        async with WebhookChannel.make_session(allow_private=True) as session:
            delivery = await WebhookChannel(session, FAST, allow_private=True, sleep=no_sleep).send(ALERT, settings(rx.url))
    assert not delivery.ok and len(rx.received) == 1


async def test_timeouts_are_retried_until_the_attempts_run_out() -> None:
    async with Receiver(delay_s=0.5) as rx:
        async with WebhookChannel.make_session(allow_private=True) as session:
            channel = WebhookChannel(session, RetryPolicy(attempts=2, base_s=0), timeout_s=0.1, allow_private=True)
            delivery = await channel.send(ALERT, settings(rx.url))
    assert not delivery.ok and delivery.attempts == 2 and "timeout" in delivery.error


async def test_private_targets_are_blocked_by_address_and_by_resolution() -> None:
    async with Receiver() as rx:
        async with WebhookChannel.make_session(allow_private=False) as session:
            channel = WebhookChannel(session, FAST, sleep=no_sleep)
            by_ip = await channel.send(ALERT, settings(rx.url))
            by_name = await channel.send(ALERT, settings(rx.url.replace("127.0.0.1", "localhost")))
    assert rx.received == []
    assert not by_ip.ok and by_ip.error.startswith("blocked")
    assert not by_name.ok and by_name.error.startswith("blocked") and by_name.attempts == 1


@pytest.mark.parametrize(
    ("address", "public"),
    [("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False), ("192.168.0.1", False),
     ("::1", False), ("::ffff:10.0.0.1", False), ("fd00::1", False), ("8.8.8.8", True), ("2606:4700::1111", True)],
)
def test_public_address_classification(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_dead_letter_target_never_includes_path_query_or_credentials() -> None:
    assert describe_target("https://user:pw@hooks.example.com:8443/T000/B000/XXXX?token=abc") == "https://hooks.example.com:8443"


def test_outcome_values_are_fixed_label_values() -> None:
    assert {o.value for o in Outcome} == {"ok", "server_error", "throttled", "rejected", "timeout", "unreachable", "blocked"}
