"""NATS subject names, JetStream streams and KV buckets: the bus's whole address book.

Durable events live in ``BF_EVENTS`` (``bf.evt.>``), commands in ``BF_COMMANDS``
(``bf.cmd.>``), the audit trail in ``BF_AUDIT`` (``bf.audit.>``). Request/reply calls to a
connector use core NATS on ``bf.rpc.connector.<exchange>.<call>`` with a queue group, so any
replica of that exchange's connector answers. A running test's live progress is core NATS too:
the connector's per-probe outcomes on ``bf.rpc.progress.<test_id>`` (to the tester), the
tester's checks on ``bf.progress.<connection_id>.>`` (to the gateway's live feed).
"""

from __future__ import annotations

import hashlib
import re

EVENTS_STREAM = "BF_EVENTS"
EVENTS_SUBJECTS = "bf.evt.>"
COMMANDS_STREAM = "BF_COMMANDS"
COMMANDS_SUBJECTS = "bf.cmd.>"
AUDIT_STREAM = "BF_AUDIT"
AUDIT_SUBJECTS = "bf.audit.>"

# Events (fan out).
CONNECTION_ADDED = "bf.evt.connection.added"
CONNECTION_RENAMED = "bf.evt.connection.renamed"
CONNECTION_CREDENTIALS_ROTATED = "bf.evt.connection.credentials_rotated"
CONNECTION_DELETED = "bf.evt.connection.deleted"
CONNECTION_ATTESTED = "bf.evt.connection.attested"
TEST_STARTED = "bf.evt.test.started"
TEST_PASSED = "bf.evt.test.passed"
TEST_FAILED = "bf.evt.test.failed"
STRATEGY_ENABLED = "bf.evt.strategy.enabled"
STRATEGY_UPDATED = "bf.evt.strategy.updated"
STRATEGY_DISABLED = "bf.evt.strategy.disabled"
STRATEGY_PAUSED = "bf.evt.strategy.paused"
STRATEGY_RESUMED = "bf.evt.strategy.resumed"
# A runner took over a strategy whose owner's lease ran out (crash, kill -9, lost bus);
# never published for a first claim or a voluntary hand-over.
STRATEGY_LEASE_LOST = "bf.evt.strategy.lease_lost"

# Commands (one handler each).
TEST_REQUESTED = "bf.cmd.test.requested"

# Request/reply to the connector of one exchange.
CONNECTOR_QUEUE = "connector"


def probe_subject(exchange: str) -> str:
    """Subject on which ``exchange``'s connector answers connection probes."""
    return f"bf.rpc.connector.{exchange}.probe"


def order_subject(exchange: str) -> str:
    """Subject on which ``exchange``'s connector places and cancels orders."""
    return f"bf.rpc.connector.{exchange}.order"


def progress_subject(connection_id: str, step: str = "check") -> str:
    """Core (non-durable) subject of a running test's per-check progress for one connection.

    The gateway relays ``bf.progress.<connection_id>.>`` to the dashboard's live feed; a
    payload is one JSON object and, like every message, never holds secret material.
    """
    return f"bf.progress.{connection_id}.{step}"


def probe_progress_subject(test_id: str) -> str:
    """Core subject on which the connector reports each finished probe of test ``test_id``.

    Only the tester running that test listens. ``test_id`` must be one subject token (no
    dots, wildcards or whitespace): anything else would address other subscribers, so it is
    refused with ``ValueError``.
    """
    if not is_token(test_id):
        raise ValueError("a test id must be a single subject token")
    return f"bf.rpc.progress.{test_id}"


def is_token(value: str) -> bool:
    """True when ``value`` is one non-empty NATS subject token without wildcards."""
    return bool(value) and not any(c in value for c in ".*>") and not any(c.isspace() for c in value)


def ticks_subject(exchange: str, symbol: str) -> str:
    """Subject of market-data ticks for one symbol (``BTC/USDT`` -> ``BTC_USDT``)."""
    return f"bf.md.{exchange}.{symbol.replace('/', '_').replace(':', '__')}"


# KV buckets (read models and leases).
KV_CONNECTIONS = "bf_connections"  # key "<user_id>.<connection_id>" -> ConnectionView JSON
KV_USERS = "bf_users"  # key "email.<sha256(email)>" -> user record (password hash, id)
KV_REVOKED_TOKENS = "bf_revoked_tokens"  # key "<jti>" -> expiry of a logged-out access token
KV_FINGERPRINTS = "bf_key_fingerprints"  # key "<fingerprint>.<connection_id>" -> user id
KV_TESTER = "bf_tester"  # tester state: processed test ids, schedules
KV_STRATEGIES = "bf_strategies"
KV_LEASES = "bf_leases"
KV_VERDICTS = "bf_verdicts"  # key verdict_key(<connection_id>) -> ConnectionVerdict JSON (tester writes)

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,200}")


# Strategies: markets catalogue and market-data interest (request/reply and core NATS).
STRATEGY_FAILED = "bf.evt.strategy.failed"


def markets_subject(exchange: str) -> str:
    """Subject on which ``exchange``'s connector answers with its markets and trading rules."""
    return f"bf.rpc.connector.{exchange}.markets"


def md_interest_subject(exchange: str) -> str:
    """Subject on which runners announce the symbols they need ticks for (core NATS)."""
    return f"bf.rpc.connector.{exchange}.md_interest"


def verdict_key(connection_id: str) -> str:
    """KV key of a connection's verdict in ``bf_verdicts``.

    The connection id itself when it is a valid KV key (the gateway's ids are), otherwise a
    hash of it: every writer and reader derives the same key from the same id.
    """
    if _PLAIN_KEY.fullmatch(connection_id):
        return connection_id
    return "h" + hashlib.sha256(connection_id.encode()).hexdigest()[:40]
