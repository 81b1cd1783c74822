"""What the runners know about connections: online, offline or deleted, newest result wins.

Test results can arrive late or twice (redelivery, several tester replicas); a result is
applied only when its test started after the one recorded (or is a later attempt of it).
A deletion is final.
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


def conn_key(connection_id: str) -> str:
    """KV key of a connection's record."""
    return f"conn.{connection_id}"


def on_result(record: ConnectionRecord | None, connection_id: str, result: TestResult) -> ConnectionRecord | None:
    """The record after a test result, or None when the result is stale or changes nothing."""
    if record is not None:
        if record.state == "deleted":
            return None
        if record.test_started_at is not None and (result.started_at, result.attempt) <= (
                record.test_started_at, record.attempt):
            return None
    state: ConnectionState = "online" if result.status == "passed" else "offline"
    return ConnectionRecord(connection_id=connection_id, state=state, test_started_at=result.started_at,
                            attempt=result.attempt)


def on_deleted(record: ConnectionRecord | None, connection_id: str) -> ConnectionRecord | None:
    """The record after the connection was deleted (None if already recorded)."""
    if record is not None and record.state == "deleted":
        return None
    return ConnectionRecord(connection_id=connection_id, state="deleted")
