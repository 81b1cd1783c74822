"""Lease-lost events: the supervisor announces a takeover from a dead session, once, and
nothing else (first claims, hand-overs, graceful stops); a self-fenced runner comes back.

Supervisors run their real loops over a hand-written lease bucket that behaves like the KV
one (compare-and-set on revisions) and feeds every subscribed supervisor like its watchers.
Runner time is a fake clock the tests move; the loops themselves tick in milliseconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bf_shared import subjects
from bf_shared.messages import Message
from bf_shared.strategy_messages import StrategyLeaseLost, StrategySpec, lease_lost_id

from bf_runner.domain.leases import Claim, Session
from bf_runner.ports import StaleRevision
from bf_runner.settings import RunnerSettings
from bf_runner.supervisor import Supervisor

from .test_strategy_owner import PARAMS, World

TTL_S = 10.0
T0 = 1_000_000


class FakeLeaseBucket:
    """Bucket ``bf_leases``: revisions, compare-and-set, and change delivery to subscribers."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[Session, int]] = {}
        self.claims: dict[str, tuple[Claim, int]] = {}
        self.revision = 0
        self.down = False  # every call fails as if the bus were unreachable
        self.lost_cas = 0
        self.watchers: list[Supervisor] = []

    def watch(self, sup: Supervisor) -> None:
        """Deliver the current values, then every change (like the KV watchers)."""
        self.watchers.append(sup)
        for runner_id, (session, rev) in self.sessions.items():
            sup.on_session(runner_id, session, rev)
        for sid, (claim, rev) in self.claims.items():
            sup.on_claim(sid, claim, rev)

    def _write(self, table: dict, key: str, value: object, revision: int | None) -> int:
        if self.down:
            raise ConnectionError("bus unreachable")
        current = table.get(key)
        if (current[1] if current else None) != revision:
            self.lost_cas += 1
            raise StaleRevision(key)
        self.revision += 1
        if value is None:
            del table[key]
        else:
            table[key] = (value, self.revision)
        return self.revision

    async def put_session(self, session: Session, revision: int | None) -> int:
        rev = self._write(self.sessions, session.runner_id, session, revision)
        for sup in self.watchers:
            sup.on_session(session.runner_id, session, rev)
        return rev

    async def delete_session(self, runner_id: str, revision: int) -> None:
        rev = self._write(self.sessions, runner_id, None, revision)
        for sup in self.watchers:
            sup.on_session(runner_id, None, rev)

    async def put_claim(self, strategy_id: str, claim: Claim, revision: int | None) -> int:
        await asyncio.sleep(0)  # a round trip: others run meanwhile
        rev = self._write(self.claims, strategy_id, claim, revision)
        for sup in self.watchers:
            sup.on_claim(strategy_id, claim, rev)
        return rev

    async def delete_claim(self, strategy_id: str, revision: int) -> None:
        rev = self._write(self.claims, strategy_id, None, revision)
        for sup in self.watchers:
            sup.on_claim(strategy_id, None, rev)


class FlakyEvents:
    """Records publishes; the first ``failures`` calls raise like a bus without a leader."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: list[tuple[str, Message]] = []
        self.published: list[tuple[str, Message]] = []

    async def publish(self, subject: str, message: Message) -> None:
        self.attempts.append((subject, message))
        if self.failures > 0:
            self.failures -= 1
            raise TimeoutError("no JetStream ack")
        self.published.append((subject, message))

    def lease_lost(self) -> list[StrategyLeaseLost]:
        return [m for s, m in self.published if s == subjects.STRATEGY_LEASE_LOST]  # type: ignore[misc]


class Cluster:
    """Runners sharing one lease bucket, one strategy store, one event log and one clock."""

    def __init__(self, events: FlakyEvents | None = None) -> None:
        self.world = World()
        self.world.clock.now = T0
        self.bucket = FakeLeaseBucket()
        self.events = events or FlakyEvents()
        self.settings = RunnerSettings(lease_ttl_s=TTL_S, heartbeat_s=0.01, scan_s=0.01, order_timeout_s=0.1,
                                       reconcile_s=3600)
        self.runners: dict[str, tuple[Supervisor, asyncio.Task[None]]] = {}
        self.specs: list[StrategySpec] = []

    def spec(self, sid: str, user: str, pair: str = "BTC/USDT") -> StrategySpec:
        spec = StrategySpec(strategy_id=sid, user_id=user, connection_id=f"conn-{user}", exchange="mexc",
                            params=PARAMS.model_copy(update={"name": f"Grid {sid}", "pairs": (pair,)}))
        self.specs.append(spec)
        return spec

    def supervisor(self, runner_id: str, watch: bool = True) -> Supervisor:
        deps = dataclasses.replace(self.world.deps, runner_id=runner_id, events=self.events, settings=self.settings)
        sup = Supervisor(deps, self.bucket)
        for spec in self.specs:
            sup.on_spec(spec.strategy_id, spec)
        if watch:
            self.bucket.watch(sup)
        return sup

    def start(self, runner_id: str, watch: bool = True) -> Supervisor:
        sup = self.supervisor(runner_id, watch)
        self.runners[runner_id] = (sup, asyncio.create_task(sup.run()))
        return sup

    async def kill(self, runner_id: str) -> None:
        """kill -9: every task stops, nothing is released."""
        sup, task = self.runners.pop(runner_id)
        self.bucket.watchers.remove(sup)
        for t in [task, *sup._tasks.values()]:
            t.cancel()
        await asyncio.gather(task, *sup._tasks.values(), return_exceptions=True)

    async def stop_all(self) -> None:
        for runner_id in list(self.runners):
            sup, task = self.runners.pop(runner_id)
            await sup.shutdown()
            await asyncio.wait_for(task, 2)

    def advance(self, seconds: float) -> None:
        self.world.clock.now += int(seconds * 1000)


async def until(check: Callable[[], bool], what: str, timeout_s: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def owned(sup: Supervisor, n: int) -> Callable[[], bool]:
    return lambda: len(sup.owners) == n and all(o.opened.is_set() for o in sup.owners.values())


async def test_a_takeover_from_a_dead_session_publishes_one_event_per_strategy_with_its_owner() -> None:
    c = Cluster()
    dead = Session(runner_id="victim", session_id="victim-s1", expires_at_ms=T0 - 2_000, started_at_ms=T0 - 60_000)
    c.bucket.sessions["victim"] = (dead, 1)
    for i, (sid, user) in enumerate([("s1", "alice"), ("s2", "bob")]):
        c.spec(sid, user)
        c.bucket.claims[sid] = (Claim(runner_id="victim", session_id="victim-s1", claimed_at_ms=T0 - 50_000), 2 + i)
    c.bucket.revision = 10
    c.spec("s3", "alice")  # never claimed: a first claim, not a takeover
    survivor = c.start("survivor")
    try:
        await until(owned(survivor, 3), "the survivor owns all three")
        for _ in range(5):  # more passes of the loop announce nothing more
            await asyncio.sleep(0.02)
    finally:
        await c.stop_all()

    events = sorted(c.events.lease_lost(), key=lambda e: e.strategy_id)
    assert [e.strategy_id for e in events] == ["s1", "s2"]
    at = lambda ms: datetime.fromtimestamp(ms / 1000, UTC)  # noqa: E731
    for event, user in zip(events, ["alice", "bob"]):
        assert event.message_id == lease_lost_id(event.strategy_id, "victim-s1") == f"{event.strategy_id}.victim-s1.lease_lost"
        assert event.user_id == user and event.connection_id == f"conn-{user}" and event.exchange == "mexc"
        assert event.name == f"Grid {event.strategy_id}"
        assert (event.previous_owner, event.previous_session, event.new_owner) == ("victim", "victim-s1", "survivor")
        assert event.lost_at == at(T0 - 2_000)  # the dead session's expiry, not the takeover
        assert event.occurred_at == at(T0)
    assert len(c.events.attempts) == len(c.events.published)  # nothing was retried


async def test_a_runner_that_loses_the_compare_and_set_publishes_nothing() -> None:
    c = Cluster()
    c.spec("s1", "alice")
    dead = Session(runner_id="victim", session_id="v1", expires_at_ms=T0 - 1_000)
    stale_claim = (Claim(runner_id="victim", session_id="v1", claimed_at_ms=T0 - 30_000), 2)
    c.bucket.sessions["victim"], c.bucket.claims["s1"], c.bucket.revision = (dead, 1), stale_claim, 2
    winner = c.start("winner")
    await until(owned(winner, 1), "the winner takes s1 over")
    # A runner whose watchers lag: it still sees the victim's claim at its old revision and
    # no other live runner, so it tries the same takeover.
    late = c.supervisor("late", watch=False)
    late.on_session("victim", dead, 1)
    late.on_claim("s1", *stale_claim)
    c.runners["late"] = (late, asyncio.create_task(late.run()))
    try:
        await until(lambda: c.bucket.lost_cas > 0, "the late runner's takeover attempt")
        await asyncio.sleep(0.05)
        assert late.owners == {}
    finally:
        await c.stop_all()
    (event,) = c.events.lease_lost()
    assert event.new_owner == "winner" and event.message_id == "s1.v1.lease_lost"


async def test_a_publish_that_fails_is_retried_under_the_same_message_id_until_it_is_stored() -> None:
    c = Cluster(FlakyEvents(failures=3))
    c.spec("s1", "alice")
    c.bucket.sessions["victim"] = (Session(runner_id="victim", session_id="v1", expires_at_ms=T0 - 1), 1)
    c.bucket.claims["s1"], c.bucket.revision = (Claim(runner_id="victim", session_id="v1", claimed_at_ms=0), 2), 2
    sup = c.start("survivor")
    try:
        await until(lambda: len(c.events.lease_lost()) == 1, "the event published after the bus came back")
        await asyncio.sleep(0.05)
    finally:
        await c.stop_all()
    assert len(c.events.lease_lost()) == 1 and c.events.lease_lost()[0].new_owner == sup.runner_id
    lease_attempts = [m for s, m in c.events.attempts if s == subjects.STRATEGY_LEASE_LOST]
    assert len(lease_attempts) == 4 and {m.message_id for m in lease_attempts} == {"s1.v1.lease_lost"}


async def test_first_claims_a_hand_over_and_a_graceful_stop_publish_nothing() -> None:
    c = Cluster()
    for i, pair in enumerate(["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]):
        c.spec(f"h{i}", "alice", pair)
    first = c.start("first")
    await until(owned(first, 4), "the only runner claims everything")
    second = c.start("second")
    await until(lambda: "second" in c.bucket.sessions, "the newcomer's session")
    c.advance(TTL_S * 0.6)  # the newcomer settles (half a TTL); no session expires meanwhile
    try:
        await until(lambda: owned(first, 2)() and owned(second, 2)(), "a hand-over to the newcomer")
        sup, task = c.runners.pop("first")
        await sup.shutdown()  # graceful: its claims are released, not lost
        await asyncio.wait_for(task, 2)
        await until(owned(second, 4), "the remaining runner takes the released strategies")
        await asyncio.sleep(0.05)
    finally:
        await c.stop_all()
    assert c.events.lease_lost() == []


async def test_a_killed_runner_is_announced_by_the_runner_taking_over(caplog: pytest.LogCaptureFixture) -> None:
    c = Cluster()
    c.spec("k1", "alice", "BTC/USDT")
    c.spec("k2", "bob", "ETH/USDT")
    victim = c.start("victim")
    await until(owned(victim, 2), "the victim owns both")
    survivor = c.start("survivor")
    await c.kill("victim")
    session = victim._session  # as last renewed
    assert session is not None
    c.advance(TTL_S + 1)
    try:
        with caplog.at_level(logging.WARNING, logger="bf_runner.supervisor"):
            await until(owned(survivor, 2), "the survivor takes both over")
        await asyncio.sleep(0.05)
    finally:
        await c.stop_all()
    events = sorted(c.events.lease_lost(), key=lambda e: e.strategy_id)
    assert [(e.strategy_id, e.user_id, e.previous_owner, e.new_owner) for e in events] == [
        ("k1", "alice", "victim", "survivor"), ("k2", "bob", "victim", "survivor")]
    assert {e.message_id for e in events} == {f"k1.{session.session_id}.lease_lost", f"k2.{session.session_id}.lease_lost"}
    assert all(e.lost_at == datetime.fromtimestamp(session.expires_at_ms / 1000, UTC) for e in events)
    assert "taken over from victim" in caplog.text


async def test_a_self_fenced_runner_logs_its_loss_comes_back_alone_and_announces_the_gap(
        caplog: pytest.LogCaptureFixture) -> None:
    c = Cluster()
    c.spec("f1", "alice")
    alone = c.start("alone")
    await until(owned(alone, 1), "the runner owns f1")
    first_session = alone._session
    assert first_session is not None
    with caplog.at_level(logging.ERROR, logger="bf_runner.supervisor"):
        c.bucket.down = True
        c.advance(TTL_S)  # renewals fail for a whole TTL: the runner must stop trading
        await until(lambda: alone.owners == {}, "self-fencing")
    assert "lost its lease on 1 strategies: f1" in caplog.text
    assert c.events.lease_lost() == []  # it cannot know who takes over: it only logs
    c.bucket.down = False
    try:
        # No other runner will collect its expired session: it must replace it itself.
        await until(owned(alone, 1), "the runner back under a new session")
        await until(lambda: len(c.events.lease_lost()) == 1, "the gap announced")
        new_session = alone._session
    finally:
        await c.stop_all()
    (event,) = c.events.lease_lost()
    old = alone._dropped_session  # as last renewed before the bus went away
    assert old is not None and old.session_id == first_session.session_id
    assert new_session is not None and new_session.session_id != old.session_id
    assert (event.previous_owner, event.new_owner, event.previous_session) == ("alone", "alone", old.session_id)
    assert event.lost_at == datetime.fromtimestamp(old.expires_at_ms / 1000, UTC)
    assert event.message_id == f"f1.{old.session_id}.lease_lost"
