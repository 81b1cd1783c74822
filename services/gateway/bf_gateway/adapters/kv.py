"""The small key-value port the gateway uses, and its NATS JetStream KV adapter.

Keys follow NATS KV rules (``[-/_=.a-zA-Z0-9]``); ``entries`` takes a NATS subject filter
(``*`` one token, ``>`` the rest) and is answered by the server, not by scanning every key.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue
from pydantic import BaseModel


@dataclass(frozen=True)
class KvEntry:
    """A key's current value and the revision to pass to :meth:`KvStore.update`."""

    key: str
    value: bytes
    revision: int


class KvError(Exception):
    """Base of key-value failures."""


class KeyExists(KvError):
    """``create`` found the key already there."""


class RevisionConflict(KvError):
    """``update`` lost a race: the key changed since the revision was read."""


class KvUnavailable(KvError):
    """The store did not answer (NATS down, timeout); the caller may retry."""


class KvStore(abc.ABC):
    """One bucket."""

    @abc.abstractmethod
    async def get(self, key: str) -> KvEntry | None:
        """The live value, or ``None`` when the key is absent or deleted."""

    @abc.abstractmethod
    async def create(self, key: str, value: bytes) -> int:
        """Write only if the key is absent (or deleted); raises :class:`KeyExists`."""

    @abc.abstractmethod
    async def update(self, key: str, value: bytes, revision: int) -> int:
        """Write only if the key is still at ``revision``; raises :class:`RevisionConflict`."""

    @abc.abstractmethod
    async def put(self, key: str, value: bytes) -> int:
        """Write unconditionally."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the key (idempotent)."""

    @abc.abstractmethod
    async def entries(self, pattern: str) -> list[KvEntry]:
        """Live entries whose key matches the subject filter ``pattern``."""


_UNAVAILABLE = (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError)


class NatsKvStore(KvStore):
    """:class:`KvStore` over a JetStream KV bucket (nats-py)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def get(self, key: str) -> KvEntry | None:
        try:
            entry = await self._kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return None
        except _UNAVAILABLE as e:
            raise KvUnavailable(f"key-value store unavailable: {type(e).__name__}") from None
        return KvEntry(key, entry.value or b"", entry.revision or 0)

    async def create(self, key: str, value: bytes) -> int:
        try:
            return await self._kv.create(key, value)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise KeyExists(key) from None
        except _UNAVAILABLE as e:
            raise KvUnavailable(f"key-value store unavailable: {type(e).__name__}") from None

    async def update(self, key: str, value: bytes, revision: int) -> int:
        try:
            return await self._kv.update(key, value, last=revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise RevisionConflict(key) from None
        except _UNAVAILABLE as e:
            raise KvUnavailable(f"key-value store unavailable: {type(e).__name__}") from None

    async def put(self, key: str, value: bytes) -> int:
        try:
            return await self._kv.put(key, value)
        except _UNAVAILABLE as e:
            raise KvUnavailable(f"key-value store unavailable: {type(e).__name__}") from None

    async def delete(self, key: str) -> None:
        try:
            await self._kv.delete(key)
        except _UNAVAILABLE as e:
            raise KvUnavailable(f"key-value store unavailable: {type(e).__name__}") from None

    async def entries(self, pattern: str) -> list[KvEntry]:
        try:
            watcher = await self._kv.watch(pattern, ignore_deletes=True)
            found: list[KvEntry] = []
            try:
                while (entry := await watcher.updates(timeout=5.0)) is not None:  # type: ignore[no-untyped-call]
                    found.append(KvEntry(entry.key, entry.value or b"", entry.revision or 0))
            finally:
                await watcher.stop()  # type: ignore[no-untyped-call]
        except _UNAVAILABLE as e:
            raise KvUnavailable(f"key-value store unavailable: {type(e).__name__}") from None
        return found


M = TypeVar("M", bound=BaseModel)

#: How often a lost compare-and-set race is retried before giving up.
MAX_CONFLICT_RETRIES = 8


async def mutate_model(kv: KvStore, key: str, model: type[M], change: Callable[[M], M | None]) -> M | None:
    """Apply ``change`` to the JSON ``model`` at ``key`` with optimistic concurrency.

    Re-reads and re-applies on a lost race (``change`` must be pure: it may run several
    times). Returns the stored value (unchanged when ``change`` returns ``None``), or ``None``
    when ``key`` does not exist; raises :class:`RevisionConflict` after
    :data:`MAX_CONFLICT_RETRIES` lost races.
    """
    for _ in range(MAX_CONFLICT_RETRIES):
        entry = await kv.get(key)
        if entry is None:
            return None
        current = model.model_validate_json(entry.value)
        changed = change(current)
        if changed is None:
            return current
        try:
            await kv.update(key, changed.model_dump_json().encode(), entry.revision)
        except RevisionConflict:
            continue
        return changed
    raise RevisionConflict(key)
