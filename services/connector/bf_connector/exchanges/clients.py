"""The client cache: one :class:`VenueSession` per (connection, secret version), closed on eviction.

A session holds the decrypted credentials inside its ccxt clients, so the cache *is* the
credential cache: a hit needs no Vault read. Entries leave the cache when

* they have not been used for ``ttl_s`` (swept on every access, no background task),
* the cache is over ``max_size`` (least recently used first),
* the connection's credentials were rotated or it was deleted (:meth:`ClientFactory.evict`,
  driven by the bus events).

A session still in use by a probe is closed when its last user releases it, never under it.
Concurrent first requests for one key share a single Vault read and client build.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bf_shared.vault import Credentials, SecretNotFound, SecretReader

from bf_connector.clock import Clock
from bf_connector.exchanges.base import ClientOptions, Venue, VenueSession
from bf_connector.metrics import ConnectorMetrics

log = logging.getLogger(__name__)

CacheKey = tuple[str, int | None]
SessionBuilder = Callable[[Credentials], VenueSession]


@dataclass
class _Entry:
    session: VenueSession
    last_used: float
    users: int = 0
    evicted: bool = False


class ClientFactory:
    """Hands out cached venue sessions for one exchange.

    ``secret_version=None`` means "latest": it is cached under its own key and dropped with the
    others when a rotation event arrives (and by the TTL should an event be missed).
    """

    def __init__(
        self,
        venue: Venue,
        options: ClientOptions,
        *,
        metrics: ConnectorMetrics,
        clock: Clock,
        ttl_s: float = 300.0,
        max_size: int = 1000,
        build: SessionBuilder | None = None,
    ) -> None:
        self.venue = venue
        self._options = options
        self._metrics = metrics
        self._clock = clock
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._build = build or (lambda creds: VenueSession(venue, creds, options, metrics, clock))
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self._loading: dict[CacheKey, asyncio.Future[_Entry]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        # Loads in flight when their connection was evicted: served once, never cached.
        self._superseded: set[CacheKey] = set()

    def __len__(self) -> int:
        return len(self._entries)

    @asynccontextmanager
    async def lease(
        self, connection_id: str, secret_version: int | None, reader: SecretReader
    ) -> AsyncIterator[VenueSession]:
        """The session for this connection and secret version, held for the ``async with`` body.

        Reads the credentials from ``reader`` on a miss; its errors (``SecretNotFound``,
        ``VaultUnavailable``...) propagate to the caller.
        """
        key = (connection_id, secret_version)
        entry = await self._get(key, reader)
        entry.users += 1
        try:
            yield entry.session
        finally:
            entry.users -= 1
            entry.last_used = self._clock.monotonic()
            if entry.evicted and entry.users == 0:
                self._close_later(entry.session)

    async def _get(self, key: CacheKey, reader: SecretReader) -> _Entry:
        self._sweep()
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            entry.last_used = self._clock.monotonic()
            return entry
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            try:
                credentials = await reader.read(key[0], key[1])
            except ValueError:  # an id no Vault path can have: nothing is stored under it
                raise SecretNotFound("no credentials stored for this connection") from None
            credentials.register()  # redact these values from every log line from now on
            entry = _Entry(self._build(credentials), self._clock.monotonic())
        except asyncio.CancelledError:
            self._superseded.discard(key)
            future.cancel()
            raise
        except Exception as e:
            self._superseded.discard(key)
            future.set_exception(e)
            future.exception()  # the waiters (if any) get it; do not warn when there are none
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(entry)
        if key in self._superseded:
            self._superseded.discard(key)
            entry.evicted = True  # superseded while loading: serve this caller, then close
            return entry
        self._entries[key] = entry
        self._trim()
        self._metrics.cached_clients.labels(self.venue.id).set(len(self._entries))
        return entry

    def _sweep(self) -> None:
        cutoff = self._clock.monotonic() - self._ttl_s
        for key in [k for k, e in self._entries.items() if e.last_used < cutoff and e.users == 0]:
            self._drop(key)

    def _trim(self) -> None:
        while len(self._entries) > self._max_size:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        entry.evicted = True
        if entry.users == 0:
            self._close_later(entry.session)
        self._metrics.cached_clients.labels(self.venue.id).set(len(self._entries))

    def _close_later(self, session: VenueSession) -> None:
        task = asyncio.ensure_future(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def evict(self, connection_id: str) -> int:
        """Drop every cached session of ``connection_id``; returns how many were dropped."""
        self._superseded.update(k for k in self._loading if k[0] == connection_id)
        keys = [k for k in self._entries if k[0] == connection_id]
        for key in keys:
            self._drop(key)
        if keys:
            log.info("dropped %d cached client(s) of a connection", len(keys))
        return len(keys)

    async def aclose(self) -> None:
        """Close every session (shutdown)."""
        for key in list(self._entries):
            self._drop(key)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
