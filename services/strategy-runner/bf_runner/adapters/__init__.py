"""Adapters of the runner's ports: NATS KV, NATS request/reply, Prometheus, the clock."""
