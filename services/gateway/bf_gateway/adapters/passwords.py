"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify passwords. Hashing is deliberately slow, so it runs in a worker thread.

    Tests pass a cheap ``PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)``; the
    default is argon2-cffi's current RFC 9106 low-memory profile (argon2id).
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def verify_nobody(self, password: str) -> None:
        """Spend the time of a verification when the email is unknown, so timing does not tell."""
        if self._dummy is None:
            self._dummy = await self.hash("not-a-real-password")
        await self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with weaker parameters than today's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return False
