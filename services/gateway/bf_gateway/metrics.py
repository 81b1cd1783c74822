"""The gateway's Prometheus metrics. Labels are route templates and fixed words, never ids."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class GatewayMetrics:
    """One set per registry (the process registry in production, a fresh one per test app)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "bf_gateway_http_requests_total",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "bf_gateway_http_request_seconds",
            "HTTP request latency by route template and method",
            ["route", "method"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.projection = Counter(
            "bf_gateway_projection_events_total",
            "Test events applied to the connection read model, by outcome",
            ["event", "outcome"],
            registry=registry,
        )
        self.logins = Counter(
            "bf_gateway_logins_total", "Login attempts by outcome", ["outcome"], registry=registry
        )
        self.live_streams = Gauge(
            "bf_gateway_live_streams", "Open live-feed (SSE) streams", registry=registry
        )

    @staticmethod
    def method_label(method: str) -> str:
        """The method, or ``other`` for anything unusual (labels stay a fixed set)."""
        return method if method in KNOWN_METHODS else "other"
