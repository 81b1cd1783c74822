"""Typed access to the gateway's KV buckets, built on the :class:`KvStore` port.

* ``bf_connections``: ``<user_id>.<connection_id>`` -> :class:`ConnectionView` JSON;
* ``bf_users``: ``email.<sha256(email)>`` -> :class:`User` JSON;
* ``bf_key_fingerprints``: ``<fingerprint>.<connection_id>`` -> the owner's user id;
* ``bf_revoked_tokens``: ``<jti>`` -> the token's expiry (the bucket's TTL outlives every token).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bf_gateway.adapters.kv import KeyExists, KvStore, mutate_model
from bf_gateway.domain.connections import ConnectionView
from bf_gateway.domain.ids import is_id
from bf_gateway.domain.users import User, user_key

class EmailTaken(Exception):
    """An account with this email already exists."""


class ConnectionStore:
    """The connection read model."""

    def __init__(self, kv: KvStore) -> None:
        self._kv = kv

    @staticmethod
    def key(user_id: str, connection_id: str) -> str:
        return f"{user_id}.{connection_id}"

    async def get(self, user_id: str, connection_id: str) -> ConnectionView | None:
        """The user's connection; ``None`` also for another user's id or a malformed one."""
        if not (is_id(user_id) and is_id(connection_id)):
            return None
        entry = await self._kv.get(self.key(user_id, connection_id))
        return None if entry is None else ConnectionView.model_validate_json(entry.value)

    async def create(self, view: ConnectionView) -> None:
        """Store a new view (fails with :class:`KeyExists` if the id is taken)."""
        await self._kv.create(self.key(view.user_id, view.id), view.model_dump_json().encode())

    async def mutate(
        self,
        user_id: str,
        connection_id: str,
        change: Callable[[ConnectionView], ConnectionView | None],
    ) -> ConnectionView | None:
        """Apply ``change`` with optimistic concurrency, re-reading on a lost race.

        Returns the stored view (unchanged when ``change`` returns ``None``), or ``None``
        when the connection does not exist. ``change`` must be pure: it may run several times.
        """
        if not (is_id(user_id) and is_id(connection_id)):
            return None
        return await mutate_model(self._kv, self.key(user_id, connection_id), ConnectionView, change)

    async def list(self, user_id: str) -> list[ConnectionView]:
        """The user's connections, oldest first."""
        if not is_id(user_id):
            return []
        entries = await self._kv.entries(f"{user_id}.*")
        views = [ConnectionView.model_validate_json(e.value) for e in entries]
        return sorted(views, key=lambda v: (v.created_at, v.id))

    async def delete(self, user_id: str, connection_id: str) -> None:
        await self._kv.delete(self.key(user_id, connection_id))


class FingerprintStore:
    """Which connections use the API key with a given fingerprint, and whose they are."""

    def __init__(self, kv: KvStore) -> None:
        self._kv = kv

    async def owners(self, fingerprint: str) -> dict[str, str]:
        """``{connection_id: user_id}`` of every connection using the key."""
        entries = await self._kv.entries(f"{fingerprint}.*")
        return {e.key.split(".", 1)[1]: e.value.decode() for e in entries}

    async def add(self, fingerprint: str, connection_id: str, user_id: str) -> None:
        await self._kv.put(f"{fingerprint}.{connection_id}", user_id.encode())

    async def remove(self, fingerprint: str, connection_id: str) -> None:
        await self._kv.delete(f"{fingerprint}.{connection_id}")


class UserStore:
    """Accounts, keyed by email."""

    def __init__(self, kv: KvStore) -> None:
        self._kv = kv

    async def by_email(self, email: str) -> User | None:
        entry = await self._kv.get(user_key(email))
        return None if entry is None else User.model_validate_json(entry.value)

    async def create(self, user: User) -> None:
        """Store a new account; raises :class:`EmailTaken` if the email is registered."""
        try:
            await self._kv.create(user_key(user.email), user.model_dump_json().encode())
        except KeyExists:
            raise EmailTaken(user.email) from None

    async def replace(self, user: User) -> None:
        """Overwrite an account (e.g. a password hash upgraded to current parameters)."""
        await self._kv.put(user_key(user.email), user.model_dump_json().encode())


class RevokedTokens:
    """Logged-out access tokens, until they would have expired anyway."""

    def __init__(self, kv: KvStore) -> None:
        self._kv = kv

    async def revoke(self, jti: str, expires_at: datetime) -> None:
        await self._kv.put(jti, expires_at.isoformat().encode())

    async def is_revoked(self, jti: str) -> bool:
        return await self._kv.get(jti) is not None
