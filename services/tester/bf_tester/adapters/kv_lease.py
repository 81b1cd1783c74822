"""The scheduler lease in KV ``bf_tester`` (key ``lease.scheduler``).

Taking the lease is a compare-and-set on the key's revision: create it when absent, update
it when it is ours (refresh) or when the other holder let it expire (takeover). Expiry is
judged on the value's ``expires_at`` with the replica's own clock; the TTL (seconds) dwarfs
any clock skew NTP leaves between replicas.
"""

from __future__ import annotations

from datetime import timedelta

from nats.js.kv import KeyValue

from bf_tester.adapters.kv_state import read, write
from bf_tester.domain.model import Lease
from bf_tester.ports import Clock

LEASE_KEY = "lease.scheduler"


class KvLease:
    """:class:`bf_tester.ports.SchedulerLease` for one replica (``holder`` must be unique)."""

    def __init__(self, kv: KeyValue, *, holder: str, ttl_s: float, clock: Clock, key: str = LEASE_KEY) -> None:
        self._kv = kv
        self._holder = holder
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock
        self._key = key

    async def acquire(self) -> bool:
        """Take, refresh or keep the lease; False while another replica holds it."""
        now = self._clock.now()
        mine = Lease(holder=self._holder, expires_at=now + self._ttl)
        found = await read(self._kv, self._key, Lease)
        if found is None:
            return await write(self._kv, self._key, mine, None)
        held, revision = found
        if held.held_by_other(self._holder, now):
            return False
        if held.holder == self._holder and held.expires_at - now > self._ttl * 2 / 3:
            return True  # fresh enough: spare the bucket a write every tick
        return await write(self._kv, self._key, mine, revision)

    async def release(self) -> None:
        """Give the lease up so another replica takes over at once."""
        found = await read(self._kv, self._key, Lease)
        if found is not None and found[0].holder == self._holder:
            await self._kv.delete(self._key, last=found[1])
