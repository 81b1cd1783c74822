"""Which strategies this runner owns: session heartbeat, claims, fair share, tick routing.

The supervisor keeps an in-memory picture of buckets ``bf_strategies`` (specs, statuses,
connection states) and ``bf_leases`` (sessions, claims), fed by KV watchers, and acts on it:

* **heartbeat** (every ``heartbeat_s``): renew this runner's session with compare-and-set.
  If renewal keeps failing for longer than the TTL minus one heartbeat, other runners may
  already consider the session dead: every owner is stopped (self-fencing) and a new
  session is created when the bucket answers again.
* **scan** (every ``scan_s``, and at once when a claim or spec changes): an active strategy
  (not finished) whose claim is missing or names a dead session is claimed by the runner its
  symbol prefers (see :mod:`bf_runner.domain.leases`) as long as that runner is under its
  fair share, or by any runner with room once it stayed unowned for a few scans. Owned
  strategies that another settled runner is preferred for (and has room for), or that put
  this runner above its share, are handed over: that is how a new replica gets work.
  Claiming is compare-and-set on the claim's revision: of several runners racing, exactly
  one wins.
* **lease lost**: a claim won from a dead session (a takeover, counted by the takeover
  metric) is announced with :class:`~bf_shared.strategy_messages.StrategyLeaseLost` on
  ``subjects.STRATEGY_LEASE_LOST``, so the strategy's owner is told it was unattended for a
  while. Only the runner whose compare-and-set won publishes, after winning, with a message
  id per lost session (de-duplicated by JetStream); a publish that fails is retried on the
  next pass. A first claim or a hand-over (the claim was deleted) announces nothing.
  A runner that self-fences only logs which strategies it dropped: it cannot know who will
  take them (maybe itself, under its new session) and that takeover announces the loss.
* **ticks**: one subscription per symbol for all the strategies on it; each owner filters
  by its watch band before anything is queued.

A strategy whose claim now names another session is stopped at once; its state writes would
fail anyway (they are compare-and-set on the state's revision).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal

from bf_shared import subjects
from bf_shared.strategy_messages import StrategyLeaseLost, StrategySpec

from bf_runner.domain.leases import (
    Claim,
    Session,
    affinity_key,
    claim_valid,
    fair_share,
    should_claim,
    should_hand_over,
)
from bf_runner.domain.takeover import lease_lost
from bf_runner.owner import ConnectionChanged, Owner, OwnerDeps, SpecChanged
from bf_runner.ports import ConnectionState, LeaseStore, StaleRevision

log = logging.getLogger(__name__)

#: Sessions dead this long are deleted by whoever notices (keeps the bucket small).
SESSION_GC_MS = 60_000

#: Lease-lost events published concurrently at most (a dead runner may have owned thousands).
ANNOUNCE_BATCH = 100

SymbolsChanged = Callable[[set[tuple[str, str]]], Awaitable[None]]


class Supervisor:
    """Owns strategies for one runner process."""

    def __init__(self, deps: OwnerDeps, leases: LeaseStore) -> None:
        self.deps = deps
        self.leases = leases
        self.runner_id = deps.runner_id
        self.settings = deps.settings
        self.specs: dict[str, StrategySpec] = {}
        self.finished: set[str] = set()
        self.connections: dict[str, ConnectionState] = {}
        self.sessions: dict[str, tuple[Session, int]] = {}
        self.claims: dict[str, tuple[Claim, int]] = {}
        self.owners: dict[str, Owner] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._by_symbol: dict[tuple[str, str], list[Owner]] = {}
        self._on_symbols: SymbolsChanged | None = None
        self._session: Session | None = None
        self._session_rev: int | None = None
        self._dropped_session: Session | None = None  # the last session this runner gave up
        self._last_renewal_ms = 0
        self._unowned_since: dict[str, int] = {}
        self._lease_lost: list[StrategyLeaseLost] = []  # takeovers not announced yet
        self._scan_now = asyncio.Event()
        self._stop = asyncio.Event()

    def set_symbols_callback(self, callback: SymbolsChanged) -> None:
        """Called with every (exchange, symbol) needed whenever that set changes."""
        self._on_symbols = callback

    # ------------------------------------------------------------------ fed by the watchers

    def on_spec(self, strategy_id: str, spec: StrategySpec | None) -> None:
        """A spec was written (or removed)."""
        if spec is None:
            self.specs.pop(strategy_id, None)
            owner = self.owners.get(strategy_id)
            if owner is not None:
                owner.stop()
            return
        self.specs[strategy_id] = spec
        owner = self.owners.get(strategy_id)
        if owner is not None:
            owner.notify(SpecChanged(spec))
        self._scan_now.set()

    def on_status(self, strategy_id: str, finished: bool | None) -> None:
        """A status view was written (``finished``: nothing left to do for it)."""
        if finished:
            self.finished.add(strategy_id)
        else:
            self.finished.discard(strategy_id)

    def on_connection(self, connection_id: str, state: ConnectionState | None) -> None:
        """The runners' record of a connection changed."""
        if state is None:
            self.connections.pop(connection_id, None)
            return
        self.connections[connection_id] = state
        for owner in self.owners.values():
            if owner.spec.connection_id == connection_id:
                owner.notify(ConnectionChanged(state))

    def on_session(self, runner_id: str, session: Session | None, revision: int) -> None:
        """A runner's session was renewed, created or removed."""
        if session is None:
            self.sessions.pop(runner_id, None)
        else:
            self.sessions[runner_id] = (session, revision)
        self._scan_now.set()

    def on_claim(self, strategy_id: str, claim: Claim | None, revision: int) -> None:
        """A claim was taken, renewed or released."""
        if claim is None:
            self.claims.pop(strategy_id, None)
            self._scan_now.set()
            return
        self.claims[strategy_id] = (claim, revision)
        mine = self._session is not None and claim.session_id == self._session.session_id
        if not mine and strategy_id in self.owners:
            log.warning("strategy %s now belongs to %s: stopping", strategy_id, claim.runner_id)
            self.owners[strategy_id].stop()

    def on_tick(self, exchange: str, symbol: str, price: Decimal) -> None:
        """Hot path: hand the price to every owner trading the symbol."""
        owners = self._by_symbol.get((exchange, symbol))
        if owners:
            for owner in owners:
                owner.offer_tick(symbol, price)
            self.deps.metrics.evaluations(len(owners))

    # ------------------------------------------------------------------ loops

    async def run(self) -> None:
        """Heartbeat and scan until :meth:`shutdown` (call after the watchers' first snapshot)."""
        loop = asyncio.get_running_loop()
        next_beat = 0.0
        while not self._stop.is_set():
            if loop.time() >= next_beat:
                await self._renew()
                next_beat = loop.time() + self.settings.heartbeat_s
            self._scan_now.clear()
            await self._reap()
            await self._scan()
            await self._announce()
            timeout = max(0.05, min(self.settings.scan_s, next_beat - loop.time()))
            try:
                await asyncio.wait_for(self._scan_now.wait(), timeout)
            except TimeoutError:
                pass

    async def shutdown(self) -> None:
        """Stop every owner, release its claim and the session: others take over at once."""
        self._stop.set()
        owned = list(self.owners)
        for sid in owned:
            self.owners[sid].stop()
        for sid in owned:
            await self._finish(sid, release=True)
        await self._announce()  # last chance for takeovers not announced yet
        if self._session is not None and self._session_rev is not None:
            try:
                await self.leases.delete_session(self.runner_id, self._session_rev)
            except StaleRevision:
                pass
            self._session = None

    async def _renew(self) -> None:
        now = self.deps.clock.now_ms()
        ttl_ms = int(self.settings.lease_ttl_s * 1000)
        current = self._session
        session = Session(runner_id=self.runner_id, session_id=current.session_id if current else uuid.uuid4().hex,
                          expires_at_ms=now + ttl_ms, started_at_ms=current.started_at_ms if current else now)
        base = self._session_rev if current is not None else self._replaceable_revision(now)
        try:
            self._session_rev = await self.leases.put_session(session, base)
            self._session = session
            self._last_renewal_ms = now
            self.sessions[self.runner_id] = (session, self._session_rev)
            return
        except StaleRevision:
            log.error("runner %s: session taken or removed; dropping every strategy", self.runner_id)
        except Exception as e:  # the bus is down: keep owning only while the session surely holds
            log.warning("runner %s: session renewal failed (%s)", self.runner_id, type(e).__name__)
            if now - self._last_renewal_ms < ttl_ms - int(self.settings.heartbeat_s * 1000):
                return
            log.error("runner %s: session may have expired; dropping every strategy", self.runner_id)
        if self.owners:
            # Whoever takes them over (possibly this runner, under a new session) announces the loss.
            log.error("runner %s: lost its lease on %d strategies: %s", self.runner_id, len(self.owners),
                      ", ".join(sorted(self.owners)))
        await self._drop_all()
        self._dropped_session = self._session or self._dropped_session
        self._session, self._session_rev = None, None

    def _replaceable_revision(self, now_ms: int) -> int | None:
        """The revision a new session of this runner may overwrite (None: create the key).

        After self-fencing the key still holds this runner's dropped session: the new one
        replaces it by compare-and-set on the revision the watcher last saw, instead of
        waiting for another runner to collect it (a lone runner would never come back). A
        live session that is not ours (a second process under the same runner id) is left
        alone: creating the key then fails, as it should.
        """
        seen = self.sessions.get(self.runner_id)
        if seen is None:
            return None
        dropped = self._dropped_session
        ours = dropped is not None and seen[0].session_id == dropped.session_id
        return seen[1] if ours or not seen[0].alive(now_ms) else None

    async def _drop_all(self) -> None:
        for sid in list(self.owners):
            self.owners[sid].stop()
        for sid in list(self.owners):
            await self._finish(sid, release=False)

    def _active(self) -> list[str]:
        """Strategies that need an owner: every spec not finished."""
        return [sid for sid in self.specs if sid not in self.finished]

    async def _reap(self) -> None:
        """Forget finished owners; delete sessions long dead."""
        for sid, task in list(self._tasks.items()):
            if task.done():
                owner = self.owners[sid]
                await self._finish(sid, release=not owner.lost)
        now = self.deps.clock.now_ms()
        for runner_id, (session, rev) in list(self.sessions.items()):
            if runner_id != self.runner_id and now - session.expires_at_ms > SESSION_GC_MS:
                try:
                    await self.leases.delete_session(runner_id, rev)
                except StaleRevision:
                    pass

    def _key(self, strategy_id: str) -> str:
        spec = self.specs[strategy_id]
        return affinity_key(spec.exchange, spec.params.market, spec.params.pairs)

    async def _scan(self) -> None:
        if self._session is None:
            return
        me = self.runner_id
        now = self.deps.clock.now_ms()
        ttl_ms = int(self.settings.lease_ttl_s * 1000)
        sessions = {rid: s for rid, (s, _) in self.sessions.items()}
        live = [rid for rid, s in sessions.items() if s.alive(now)]
        # Newcomers get strategies handed over only once their session has settled.
        settled = [rid for rid in live if rid == me or now - sessions[rid].started_at_ms >= ttl_ms // 2]
        active = self._active()
        share = fair_share(len(active), len(live), self.settings.max_strategies)
        loads: Counter[str] = Counter(c.runner_id for c, _ in self.claims.values()
                                      if claim_valid(c, sessions, now, ttl_ms))
        loads[me] = len(self.owners)
        grace_ms = int(self.settings.scan_s * 3000)
        for sid in sorted(active, key=self._key):
            if sid in self.owners:
                continue
            held = self.claims.get(sid)
            if held is not None and claim_valid(held[0], sessions, now, ttl_ms):
                self._unowned_since.pop(sid, None)
                continue
            if loads[me] >= share:
                break
            since = self._unowned_since.setdefault(sid, now)
            # Unowned for a while (its preferred runner is full or stuck): anyone with room takes it.
            if should_claim(me, self._key(sid), live, loads, share) or now - since > grace_ms:
                if await self._acquire(sid, held, now):
                    loads[me] += 1
                    self._unowned_since.pop(sid, None)
        if len(settled) > 1:
            for sid in list(self.owners):
                target = should_hand_over(me, self._key(sid), settled, loads, share)
                if target is not None:
                    self.owners[sid].stop()
                    await self._finish(sid, release=True)
                    loads[me] -= 1
                    loads[target] += 1
        self.deps.metrics.owned(len(self.owners))

    async def _acquire(self, sid: str, held: tuple[Claim, int] | None, now_ms: int) -> bool:
        assert self._session is not None
        claim = Claim(runner_id=self.runner_id, session_id=self._session.session_id, claimed_at_ms=now_ms)
        # Read before the write: the dead session's record may be collected meanwhile.
        previous = self._session_of(held[0]) if held is not None else None
        try:
            revision = await self.leases.put_claim(sid, claim, held[1] if held else None)
        except StaleRevision:
            return False  # another runner was faster (or the owner released it: a hand-over)
        if held is not None:
            self.deps.metrics.takeover()
            event = lease_lost(self.specs[sid], held[0], previous, self.runner_id, now_ms)
            log.warning("strategy %s taken over from %s (lease ran out at %s)", sid, held[0].runner_id,
                        event.lost_at.isoformat())
            self._lease_lost.append(event)
        self.claims[sid] = (claim, revision)
        spec = self.specs[sid]
        owner = Owner(spec, self.deps)
        self.owners[sid] = owner
        self._tasks[sid] = asyncio.create_task(self._run_owner(owner), name=f"strategy-{sid}")
        return True

    def _session_of(self, claim: Claim) -> Session | None:
        """The last known session of the claim's runner (this runner's own dropped one included)."""
        dropped = self._dropped_session
        if dropped is not None and dropped.session_id == claim.session_id:
            return dropped
        known = self.sessions.get(claim.runner_id)
        return known[0] if known else None

    async def _announce(self) -> None:
        """Publish pending lease-lost events; those that fail stay pending for the next pass."""
        pending, self._lease_lost = self._lease_lost, []
        failed: list[StrategyLeaseLost] = []
        for start in range(0, len(pending), ANNOUNCE_BATCH):
            batch = pending[start:start + ANNOUNCE_BATCH]
            results = await asyncio.gather(
                *(self.deps.events.publish(subjects.STRATEGY_LEASE_LOST, event) for event in batch),
                return_exceptions=True)
            failed += [event for event, result in zip(batch, results) if isinstance(result, BaseException)]
        if failed:
            log.warning("runner %s: %d lease-lost events not published yet; retrying", self.runner_id, len(failed))
        self._lease_lost = failed + self._lease_lost

    async def _run_owner(self, owner: Owner) -> None:
        connection = self.connections.get(owner.spec.connection_id)
        running = asyncio.create_task(owner.run(connection))
        opened = asyncio.create_task(owner.opened.wait())
        # Route ticks as soon as the strategy knows its symbols.
        await asyncio.wait({running, opened}, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if owner.opened.is_set() and not running.done():
            await self._route(owner, add=True)
        try:
            await running
        finally:
            await self._route(owner, add=False)
            if owner.state is not None and owner.state.status.value == "disabled":
                self.finished.add(owner.strategy_id)
            self._scan_now.set()

    async def _route(self, owner: Owner, add: bool) -> None:
        before = set(self._by_symbol)
        for symbol in owner.symbols:
            key = (owner.spec.exchange, symbol)
            owners = self._by_symbol.setdefault(key, [])
            if add and owner not in owners:
                owners.append(owner)
            elif not add and owner in owners:
                owners.remove(owner)
            if not owners:
                del self._by_symbol[key]
        after = set(self._by_symbol)
        if after != before and self._on_symbols is not None:
            await self._on_symbols(after)

    async def _finish(self, sid: str, release: bool) -> None:
        task = self._tasks.pop(sid, None)
        owner = self.owners.pop(sid, None)
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), self.settings.order_timeout_s * 2)
            except TimeoutError:
                task.cancel()
        held = self.claims.get(sid)
        mine = held is not None and self._session is not None and held[0].session_id == self._session.session_id
        if release and mine and owner is not None and not owner.lost:
            try:
                await self.leases.delete_claim(sid, held[1])  # type: ignore[index]
            except StaleRevision:
                pass
            self.claims.pop(sid, None)

    def symbols_by_market(self) -> dict[tuple[str, str], set[str]]:
        """(exchange, market) -> symbols that running strategies need ticks for."""
        out: dict[tuple[str, str], set[str]] = {}
        for owner in self.owners.values():
            if owner.wants_ticks and owner.state is not None:
                key = (owner.spec.exchange, owner.state.params.market)
                out.setdefault(key, set()).update(owner.symbols)
        return out
