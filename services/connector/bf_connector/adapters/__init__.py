"""Adapters of the connector's own ports to NATS (exchanges have their own package)."""
