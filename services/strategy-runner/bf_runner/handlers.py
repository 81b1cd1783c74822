"""Handlers of the events runners consume (dependencies as parameters).

Connection test results and deletions become one record per connection in
``bf_strategies`` (``conn.<id>``); owners watch those records, so a runner that takes a
strategy over later still knows whether its connection is Online. Every runner replica
shares one durable consumer: each event is handled once, and a crash mid-way redelivers it.
"""

from __future__ import annotations

from typing import Protocol

from bf_shared.messages import ConnectionDeleted, TestFailed, TestPassed

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


async def handle_test_result(event: TestPassed | TestFailed, *, store: ConnectionRecords) -> None:
    """Record whether the connection is Online after a test (newest result wins)."""
    for _ in range(5):  # a concurrent writer: read again and re-decide
        found = await store.connection_record(event.connection_id)
        record, revision = found if found else (None, None)
        new = connections.on_result(record, event.connection_id, event.result)
        if new is None:
            return
        try:
            await store.save_connection(new, revision)
            return
        except StaleRevision:
            continue
    raise StaleRevision(event.connection_id)


async def handle_connection_deleted(event: ConnectionDeleted, *, store: ConnectionRecords) -> None:
    """Record that the connection is gone: its strategies stop."""
    for _ in range(5):
        found = await store.connection_record(event.connection_id)
        record, revision = found if found else (None, None)
        new = connections.on_deleted(record, event.connection_id)
        if new is None:
            return
        try:
            await store.save_connection(new, revision)
            return
        except StaleRevision:
            continue
    raise StaleRevision(event.connection_id)
