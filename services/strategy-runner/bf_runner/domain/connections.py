"""What the runners know about connections: online, offline or deleted, newest result wins.

Test results can arrive late or twice (redelivery, several tester replicas); a result is
applied only when its test started after the one recorded (or is a later attempt of it).
A deletion is final.

A key rotation takes the connection offline until a test of the *new* key passes: the record
remembers the newest key version, and a result about an older key (or a pass that does not
say which key it tested) no longer decides anything. Strategies pause for it with the usual
``connection_offline`` reason — from the user's side the connection is being re-tested, and
they resume exactly as after any failed test, on the pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bf_shared.messages import TestResult

ConnectionState = Literal["online", "offline", "deleted"]


class ConnectionRecord(BaseModel):
    """KV ``conn.<connection_id>`` in ``bf_strategies``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    connection_id: str
    state: ConnectionState
    test_started_at: datetime | None = None
    attempt: int = 0
    # The newest Vault version of the connection's key the runners heard of (None: unknown).
    secret_version: int | None = None


def conn_key(connection_id: str) -> str:
    """KV key of a connection's record."""
    return f"conn.{connection_id}"


def on_result(record: ConnectionRecord | None, connection_id: str, result: TestResult,
              secret_version: int | None = None) -> ConnectionRecord | None:
    """The record after a test of key version ``secret_version``, or None when the result is
    stale or changes nothing."""
    if record is not None:
        if record.state == "deleted":
            return None
        if record.secret_version is not None:
            if secret_version is not None and secret_version < record.secret_version:
                return None  # about a key the connection no longer uses
            if secret_version is None and result.status == "passed":
                return None  # cannot show that the key in use passed
        if record.test_started_at is not None and (result.started_at, result.attempt) <= (
                record.test_started_at, record.attempt):
            return None
    state: ConnectionState = "online" if result.status == "passed" else "offline"
    known = [v for v in (secret_version, record.secret_version if record else None) if v is not None]
    return ConnectionRecord(connection_id=connection_id, state=state, test_started_at=result.started_at,
                            attempt=result.attempt, secret_version=max(known) if known else None)


def on_rotated(record: ConnectionRecord | None, connection_id: str, secret_version: int) -> ConnectionRecord | None:
    """The record after the key was replaced by version ``secret_version``: offline until that
    version passes a test. None when deleted, or when that version (or a newer one) is known."""
    if record is not None:
        if record.state == "deleted":
            return None
        if record.secret_version is not None and record.secret_version >= secret_version:
            return None  # a repeat, or the new key's result came first
    return ConnectionRecord(connection_id=connection_id, state="offline",
                            test_started_at=record.test_started_at if record else None,
                            attempt=record.attempt if record else 0, secret_version=secret_version)


def on_deleted(record: ConnectionRecord | None, connection_id: str) -> ConnectionRecord | None:
    """The record after the connection was deleted (None if already recorded)."""
    if record is not None and record.state == "deleted":
        return None
    return ConnectionRecord(connection_id=connection_id, state="deleted")
