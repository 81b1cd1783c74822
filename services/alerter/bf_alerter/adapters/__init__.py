"""Adapters: NATS KV stores, webhook and Telegram delivery, in-memory fakes for tests."""
