"""Verdicts from KV bucket ``bf_verdicts``, kept current by a watch (a :class:`VerdictSource`).

The watch delivers the latest value of every key, then a marker (nats-py yields ``None``),
then each change as it is stored. Its ordered consumer survives reconnects by itself; should
the watch end anyway, the book goes back to "not loaded" (placements refused) and a new watch
re-reads the whole bucket, with a growing pause between attempts.
"""

from __future__ import annotations

import asyncio
import logging

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import ValidationError

from bf_shared.messages import ConnectionVerdict
from bf_shared.subjects import verdict_key

from bf_connector.verdicts import VerdictBook

log = logging.getLogger(__name__)

_RETRY_S = (0.5, 1.0, 2.0, 5.0)


def _decode(key: str, value: bytes | None) -> ConnectionVerdict | None:
    if not value:
        return None
    try:
        return ConnectionVerdict.model_validate_json(value)
    except ValidationError as e:
        # Treated as absent: an unreadable verdict authorises nothing.
        log.error("verdict %s unreadable (%d validation errors): ignored", key, e.error_count())
        return None


class KvVerdicts:
    """:class:`bf_connector.verdicts.VerdictSource` over a KV watch. ``start`` after NATS is up."""

    def __init__(self) -> None:
        self.book = VerdictBook()
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def loaded(self) -> bool:
        """True once the bucket's snapshot is in, while the watch runs."""
        return self.book.loaded

    def get(self, connection_id: str) -> ConnectionVerdict | None:
        """The verdict as last seen by the watch."""
        return self.book.get(connection_id)

    async def refresh(self, connection_id: str) -> ConnectionVerdict | None:
        """Read the verdict from the bucket now; None when absent, unreadable or unreachable."""
        if self._kv is None:
            return None
        key = verdict_key(connection_id)
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None
        except Exception as e:  # the bus is down: nothing new can authorise anything
            log.warning("verdict of a connection not readable (%s)", type(e).__name__)
            return None
        verdict = _decode(key, entry.value)
        return verdict if verdict is not None and verdict.connection_id == connection_id else None

    async def start(self, kv: KeyValue) -> None:
        """Begin watching ``kv``; :attr:`loaded` turns True once its snapshot is in."""
        self._kv = kv
        self._task = asyncio.create_task(self._run(kv), name="verdict-watch")

    async def stop(self) -> None:
        """Stop watching (placements are refused from now on)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self.book.begin_load()

    async def _run(self, kv: KeyValue) -> None:
        attempt = 0
        while True:
            self.book.begin_load()
            try:
                await self._watch(kv)
                log.warning("verdict watch ended; watching again")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("verdict watch failed (%s); watching again", type(e).__name__)
            if self.book.loaded:
                attempt = 0  # it had worked: the pauses start over
            self.book.begin_load()
            await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
            attempt += 1

    async def _watch(self, kv: KeyValue) -> None:
        watcher = await kv.watchall()
        try:
            async for entry in watcher:
                if entry is None:  # the snapshot is complete
                    self.book.end_load()
                    log.info("verdicts loaded (%d connections)", len(self.book))
                    continue
                deleted = entry.operation in (KV_DEL, KV_PURGE)
                self.book.apply(entry.key, None if deleted else _decode(entry.key, entry.value))
        finally:
            try:
                await watcher.stop()  # type: ignore[no-untyped-call]
            except Exception:  # the connection is already closed at shutdown
                pass
