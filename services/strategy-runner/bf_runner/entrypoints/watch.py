"""KV watchers that keep the supervisor's picture of the buckets current.

Each watcher delivers the current value of every matching key, then every change. The
``ready`` event is set once the initial snapshot is in, so the first scan already sees all
strategies, claims and sessions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import ValidationError

from bf_shared.strategy_messages import StrategySpec, StrategyStatusView

from bf_runner.domain.connections import ConnectionRecord
from bf_runner.domain.leases import Claim, Session
from bf_runner.supervisor import Supervisor

log = logging.getLogger(__name__)

OnEntry = Callable[[str, bytes | None, int], None]


class Watch:
    """One KV watch running as a task; ``ready`` once the initial values are delivered."""

    def __init__(self, kv: KeyValue, pattern: str, on_entry: OnEntry) -> None:
        self.kv = kv
        self.pattern = pattern
        self.on_entry = on_entry
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin watching."""
        watcher = await self.kv.watch(self.pattern)
        self._task = asyncio.create_task(self._loop(watcher), name=f"watch-{self.pattern}")

    async def _loop(self, watcher: KeyValue.KeyWatcher) -> None:
        try:
            async for entry in watcher:
                if entry is None:
                    self.ready.set()  # end of the initial snapshot
                    continue
                deleted = entry.operation in (KV_DEL, KV_PURGE)
                try:
                    self.on_entry(entry.key, None if deleted else entry.value, int(entry.revision or 0))
                except ValidationError as e:
                    log.error("%s: unreadable value skipped (%d errors)", entry.key, e.error_count())
                if entry.delta == 0:
                    self.ready.set()
        finally:
            try:
                await watcher.stop()
            except Exception:  # the connection is already closed at shutdown
                pass

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def _id(key: str) -> str:
    return key.split(".", 1)[1]


def strategy_watches(kv: KeyValue, sup: Supervisor) -> list[Watch]:
    """Specs, statuses and connection records of bucket ``bf_strategies``."""

    def spec(key: str, value: bytes | None, _: int) -> None:
        sup.on_spec(_id(key), StrategySpec.model_validate_json(value) if value else None)

    def status(key: str, value: bytes | None, _: int) -> None:
        sup.on_status(_id(key), StrategyStatusView.model_validate_json(value).finished if value else None)

    def conn(key: str, value: bytes | None, _: int) -> None:
        sup.on_connection(_id(key), ConnectionRecord.model_validate_json(value).state if value else None)

    return [Watch(kv, "spec.*", spec), Watch(kv, "status.*", status), Watch(kv, "conn.*", conn)]


def lease_watches(kv: KeyValue, sup: Supervisor) -> list[Watch]:
    """Sessions and claims of bucket ``bf_leases``."""

    def session(key: str, value: bytes | None, revision: int) -> None:
        sup.on_session(_id(key), Session.model_validate_json(value) if value else None, revision)

    def claim(key: str, value: bytes | None, revision: int) -> None:
        sup.on_claim(_id(key), Claim.model_validate_json(value) if value else None, revision)

    return [Watch(kv, "session.*", session), Watch(kv, "claim.*", claim)]
