"""Prometheus metrics of the connector. Labels come only from code: exchange ids, ccxt method
names, probe names and error codes — never a key, a connection id or anything a user typed."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram


class ConnectorMetrics:
    """The connector's instruments, registered in ``registry`` (a fresh one per test)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.requests = Counter(
            "bf_connector_exchange_requests_total",
            "Exchange calls by exchange, endpoint (ccxt method) and outcome (ok or error code)",
            ["exchange", "endpoint", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "bf_connector_exchange_request_seconds",
            "Exchange call latency",
            ["exchange", "endpoint"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30),
            registry=registry,
        )
        self.rate_limit_headroom = Gauge(
            "bf_connector_rate_limit_headroom_ratio",
            "Fraction of the exchange's rate-limit quota left, from its last response headers",
            ["exchange"],
            registry=registry,
        )
        self.probes = Counter(
            "bf_connector_probes_total",
            "Probe outcomes by exchange, probe and outcome (ok or error code)",
            ["exchange", "probe", "outcome"],
            registry=registry,
        )
        self.cached_clients = Gauge(
            "bf_connector_cached_clients",
            "Exchange client sessions held in the cache",
            ["exchange"],
            registry=registry,
        )

        self.orders_refused = Counter(
            "bf_connector_orders_refused_total",
            "Placements refused before reaching the exchange: the key in use has not passed a test "
            "(reason: not_loaded, no_verdict, failed, unknown_version, untested_key)",
            ["exchange", "reason"],
            registry=registry,
        )

    def observe_request(self, exchange: str, endpoint: str, outcome: str, seconds: float) -> None:
        """Count one exchange call and its latency."""
        self.requests.labels(exchange, endpoint, outcome).inc()
        self.latency.labels(exchange, endpoint).observe(max(0.0, seconds))
