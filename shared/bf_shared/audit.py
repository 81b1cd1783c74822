"""The audit trail: one immutable record per security-relevant change, in ``BF_AUDIT``.

Records are published on ``bf.audit.<user_id>.<kind>`` (:func:`audit_subject`) with the
JetStream ``Nats-Msg-Id`` ``audit.<record_id>``, where ``record_id`` is the id of the message
they were projected from, so a projector that handles the same event twice stores it once
(within the stream's duplicate window; readers also drop repeated ``record_id`` values).
The stream denies delete and purge.

A record carries what a user (or a compliance reviewer) needs to understand the change —
exchange, connection name, masked key, test verdict and error code — and never a secret.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from bf_shared.messages import Frozen

AuditValue = str | int | float | bool | None | tuple[str, ...]


class AuditKind(StrEnum):
    """What happened. Values are stable; they are the last token of the audit subject."""

    CONNECTION_ADDED = "connection_added"
    CONNECTION_RENAMED = "connection_renamed"
    CREDENTIALS_ROTATED = "credentials_rotated"
    CONNECTION_DELETED = "connection_deleted"
    CONNECTION_ATTESTED = "connection_attested"
    TEST_REQUESTED = "test_requested"
    TEST_PASSED = "test_passed"
    TEST_FAILED = "test_failed"
    STRATEGY_ENABLED = "strategy_enabled"
    STRATEGY_UPDATED = "strategy_updated"
    STRATEGY_DISABLED = "strategy_disabled"
    STRATEGY_PAUSED = "strategy_paused"
    STRATEGY_RESUMED = "strategy_resumed"


class AuditRecord(Frozen):
    """One entry of a user's audit trail."""

    schema_version: Literal[1] = 1
    record_id: str  # the source message id (idempotency key)
    user_id: str
    kind: AuditKind
    actor: Literal["user", "system"]
    occurred_at: datetime
    source_subject: str
    connection_id: str | None = None
    strategy_id: str | None = None
    summary: str
    details: dict[str, AuditValue] = {}


def audit_subject(user_id: str, kind: AuditKind) -> str:
    """Subject of ``user_id``'s records of ``kind``; ids are validated to be one token."""
    if not user_id or any(c in user_id for c in ".*> \t\r\n"):
        raise ValueError("user id is not a valid subject token")
    return f"bf.audit.{user_id}.{kind.value}"


def user_audit_filter(user_id: str) -> str:
    """Subject filter selecting every record of ``user_id``."""
    if not user_id or any(c in user_id for c in ".*> \t\r\n"):
        raise ValueError("user id is not a valid subject token")
    return f"bf.audit.{user_id}.>"
