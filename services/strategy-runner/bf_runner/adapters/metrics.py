"""Prometheus metrics of the runner. Labels come from fixed vocabularies only."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram


class PrometheusRunnerMetrics:
    """:class:`bf_runner.ports.RunnerMetrics`."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._owned = Gauge("bf_runner_strategies_owned", "Strategies this runner owns", registry=registry)
        self._takeovers = Counter("bf_runner_lease_takeovers_total",
                                  "Strategies taken over from a runner whose session expired", registry=registry)
        self._roundtrip = Histogram(
            "bf_runner_order_roundtrip_seconds", "Order call to the connector and back", ["action", "outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry)
        self._evaluations = Counter("bf_runner_evaluations_total",
                                    "Strategy evaluations (one strategy looking at one price)", registry=registry)

    def owned(self, count: int) -> None:
        self._owned.set(count)

    def takeover(self) -> None:
        self._takeovers.inc()

    def order_roundtrip(self, action: str, seconds: float, outcome: str) -> None:
        self._roundtrip.labels(action=action, outcome=outcome).observe(seconds)

    def evaluations(self, count: int) -> None:
        self._evaluations.inc(count)
