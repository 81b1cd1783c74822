"""Per-user serialisation of connection changes within one gateway process."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator


class UserLocks:
    """One lock per user, dropped when nobody holds or waits for it.

    Checks such as "no other connection of this user has that name" and the key-reuse
    lookup are read-then-write; holding the user's lock makes them exact within a replica.
    Across replicas two simultaneous requests of one user could still race on the name
    check, which costs at most a duplicate name, never a secret.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def hold(self, user_id: str) -> AsyncIterator[None]:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        async with lock:
            yield
