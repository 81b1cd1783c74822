"""Settings from the environment, and metric labels from fixed vocabularies only."""

from __future__ import annotations

import os

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from bf_tester.adapters.metrics import PrometheusTesterMetrics, code_label, exchange_label
from bf_tester.settings import TesterSettings


def test_settings_come_from_backfuture_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKFUTURE_EGRESS_IPS", " 203.0.113.7, 203.0.113.8 ,")
    monkeypatch.setenv("BACKFUTURE_RETEST_INTERVAL_S", "3600")
    monkeypatch.setenv("BACKFUTURE_RETRY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("BACKFUTURE_PROBE_TIMEOUT_S", "12")
    settings = TesterSettings()  # type: ignore[call-arg]
    assert settings.egress_ips == ("203.0.113.7", "203.0.113.8")
    assert settings.retest_interval_s == 3600
    assert settings.retry_policy.max_attempts == 3
    assert settings.ack_wait_s > settings.probe_timeout_s == 12


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("BACKFUTURE_")]:
        monkeypatch.delenv(name)
    settings = TesterSettings()  # type: ignore[call-arg]
    assert settings.retest_interval_s == 6 * 3600
    assert settings.retest_budget_fraction == 0.5
    assert settings.expiry_warning_days == 14
    assert settings.retry_max_attempts == 6
    assert settings.probe_timeout_s > 10  # longer than the connector's own probe deadline


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        TesterSettings(retest_budget_fraction=1.5)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        TesterSettings(probe_timeout_s=0)  # type: ignore[call-arg]


def test_labels_never_carry_data() -> None:
    assert exchange_label("mexc") == "mexc"
    assert exchange_label("conn-5f2a/user@example.com") == "other"
    assert code_label("invalid_key") == "invalid_key"
    assert code_label("none") == "none"
    assert code_label("secret=abc") == "other"


def test_metrics_count_tests_by_exchange_result_and_code() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusTesterMetrics(registry)
    metrics.test_finished("mexc", "failed", "exchange_unavailable", 1.5)
    metrics.test_finished("weird-exchange", "passed", "none", 0.2)
    text = generate_latest(registry).decode()
    assert 'bf_tester_tests_total{code="exchange_unavailable",exchange="mexc",result="failed"} 1.0' in text
    assert 'bf_tester_tests_total{code="none",exchange="other",result="passed"} 1.0' in text
    assert 'bf_tester_test_duration_seconds_count{exchange="mexc"} 1.0' in text
    assert "weird-exchange" not in text
