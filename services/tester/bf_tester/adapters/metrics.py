"""Prometheus metrics of the tester.

Labels come from fixed vocabularies only: the exchange when it is in the catalogue
(``other`` otherwise), the result (``passed``/``failed``), the error code (an
:class:`~bf_shared.codes.ErrorCode` value or ``none``). No id, key or message text.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from bf_shared.codes import ErrorCode
from bf_shared.exchanges import EXCHANGES

_CODES = {c.value for c in ErrorCode}


def exchange_label(exchange: str) -> str:
    """The exchange id when it is a supported exchange, ``other`` otherwise."""
    return exchange if exchange in EXCHANGES else "other"


def code_label(code: str) -> str:
    """The error code when it is one of ours, ``none`` for a pass, ``other`` otherwise."""
    return code if code in _CODES or code == "none" else "other"


class PrometheusTesterMetrics:
    """:class:`bf_tester.ports.TesterMetrics` on prometheus_client."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.tests = Counter(
            "bf_tester_tests_total",
            "Connection tests finished, by exchange, result and error code",
            ["exchange", "result", "code"],
            registry=registry,
        )
        self.duration = Histogram(
            "bf_tester_test_duration_seconds",
            "Duration of a connection test (probe included)",
            ["exchange"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
            registry=registry,
        )
        self.retries = Counter(
            "bf_tester_retries_scheduled_total", "Retries scheduled after a retryable failure",
            ["exchange"], registry=registry,
        )
        self.retests = Counter(
            "bf_tester_retests_published_total", "Periodic re-tests published", ["exchange"], registry=registry
        )
        self.deferred = Counter(
            "bf_tester_retests_deferred_total",
            "Due re-tests held back by the exchange's budget (counted per scheduler tick)",
            ["exchange"],
            registry=registry,
        )
        self.superseded_tests = Counter(
            "bf_tester_tests_superseded_total",
            "Tests skipped or whose verdict was dropped because a newer test or a deletion came first",
            ["exchange"],
            registry=registry,
        )

    def test_finished(self, exchange: str, result: str, code: str, duration_s: float) -> None:
        """Count one finished test and its duration."""
        ex = exchange_label(exchange)
        self.tests.labels(ex, "passed" if result == "passed" else "failed", code_label(code)).inc()
        self.duration.labels(ex).observe(max(duration_s, 0.0))

    def retry_scheduled(self, exchange: str) -> None:
        """Count a scheduled retry."""
        self.retries.labels(exchange_label(exchange)).inc()

    def retest_published(self, exchange: str) -> None:
        """Count a published periodic re-test."""
        self.retests.labels(exchange_label(exchange)).inc()

    def retest_deferred(self, exchange: str, count: int) -> None:
        """Count due re-tests the budget held back this tick."""
        self.deferred.labels(exchange_label(exchange)).inc(count)

    def superseded(self, exchange: str) -> None:
        """Count a superseded test."""
        self.superseded_tests.labels(exchange_label(exchange)).inc()
