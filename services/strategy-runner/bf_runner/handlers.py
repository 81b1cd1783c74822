"""Handlers of the events runners consume (dependencies as parameters).

Connection test results, key rotations and deletions become one record per connection in
``bf_strategies`` (``conn.<id>``); owners watch those records, so a runner that takes a
strategy over later still knows whether its connection is Online. Every runner replica
shares one durable consumer: each event is handled once, and a crash mid-way redelivers it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bf_shared.messages import ConnectionCredentialsRotated, ConnectionDeleted, TestFailed, TestPassed

from bf_runner.domain import connections
from bf_runner.domain.connections import ConnectionRecord
from bf_runner.ports import StaleRevision


class ConnectionRecords(Protocol):
    async def connection_record(self, connection_id: str) -> tuple[ConnectionRecord, int] | None:
        """The record and its revision."""
        ...

    async def save_connection(self, record: ConnectionRecord, revision: int | None) -> int:
        """Compare-and-set; raises :class:`StaleRevision`."""
        ...


async def _update(connection_id: str, store: ConnectionRecords,
                  decide: Callable[[ConnectionRecord | None], ConnectionRecord | None]) -> None:
    """Read, decide, compare-and-set; a concurrent writer makes it read again and re-decide."""
    for _ in range(5):
        found = await store.connection_record(connection_id)
        record, revision = found if found else (None, None)
        new = decide(record)
        if new is None:
            return
        try:
            await store.save_connection(new, revision)
            return
        except StaleRevision:
            continue
    raise StaleRevision(connection_id)


async def handle_test_result(event: TestPassed | TestFailed, *, store: ConnectionRecords) -> None:
    """Record whether the connection is Online after a test (newest result for the newest key wins)."""
    await _update(event.connection_id, store,
                  lambda record: connections.on_result(record, event.connection_id, event.result,
                                                       event.secret_version))


async def handle_credentials_rotated(event: ConnectionCredentialsRotated, *, store: ConnectionRecords) -> None:
    """A new key replaced the connection's: offline (strategies pause) until the new key passes a test."""
    await _update(event.connection_id, store,
                  lambda record: connections.on_rotated(record, event.connection_id, event.secret_version))


async def handle_connection_deleted(event: ConnectionDeleted, *, store: ConnectionRecords) -> None:
    """Record that the connection is gone: its strategies stop."""
    await _update(event.connection_id, store, lambda record: connections.on_deleted(record, event.connection_id))
