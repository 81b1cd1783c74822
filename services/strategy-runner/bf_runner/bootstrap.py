"""The only place that reads settings and opens connections (at start-up, never at import).

:class:`RunnerService` is one runner replica: the broker and its consumer, the KV buckets
and watchers, the supervisor (ownership, owners), the tick router and the ops endpoint.
:func:`build_app` wraps it in a FastStream application, which handles SIGTERM/SIGINT: on
shutdown every owned strategy is released at once so another replica continues it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

from faststream import FastStream
from faststream.nats import NatsBroker
from prometheus_client import REGISTRY, CollectorRegistry

from bf_shared import subjects
from bf_shared.bus import ensure_streams, kv_bucket, make_broker
from bf_shared.logs import configure_logging
from bf_shared.ops import OpsServer

from bf_runner.adapters.clock import SystemClock
from bf_runner.adapters.connector import NatsConnector
from bf_runner.adapters.kv import KvLeaseStore, KvStrategyStore
from bf_runner.adapters.metrics import PrometheusRunnerMetrics
from bf_runner.adapters.publisher import NatsEvents
from bf_runner.entrypoints import consumers
from bf_runner.entrypoints.ticks import TickRouter
from bf_runner.entrypoints.watch import Watch, lease_watches, strategy_watches
from bf_runner.markets import MarketsCache
from bf_runner.owner import OwnerDeps
from bf_runner.ports import Clock
from bf_runner.settings import RunnerSettings
from bf_runner.supervisor import Supervisor

log = logging.getLogger(__name__)


def default_runner_id() -> str:
    """A name unique to this process."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}".replace(".", "-")


class RunnerService:
    """One runner replica. ``start`` connects and begins owning strategies; ``stop`` undoes it."""

    def __init__(self, settings: RunnerSettings, *, broker: NatsBroker | None = None, clock: Clock | None = None,
                 registry: CollectorRegistry = REGISTRY, with_ops: bool = True) -> None:
        self.settings = settings
        self.runner_id = settings.runner_id or default_runner_id()
        self.broker = broker or make_broker(settings.nats_url, "runner")
        self.clock = clock or SystemClock()
        self.metrics = PrometheusRunnerMetrics(registry)
        self._registry = registry
        self._with_ops = with_ops
        self.ops: OpsServer | None = None
        self.supervisor: Supervisor | None = None
        self._watches: list[Watch] = []
        self._ticks: TickRouter | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = False

    async def ready(self) -> bool:
        """True once owning strategies, while the bus connection is up."""
        conn = self.broker.connection
        return self._ready and conn is not None and conn.is_connected

    async def open(self) -> None:
        """Connect, create streams and buckets, attach the consumer (not started)."""
        await self.broker.connect()
        js = self.broker.config.connection_state.stream
        await ensure_streams(js, replicas=self.settings.stream_replicas)
        replicas = self.settings.stream_replicas
        self.strategies_kv = await kv_bucket(js, subjects.KV_STRATEGIES, replicas=replicas)
        self.leases_kv = await kv_bucket(js, subjects.KV_LEASES, replicas=replicas)
        self.store = KvStrategyStore(self.strategies_kv)
        await consumers.ensure_consumer(js)
        consumers.register(self.broker, self.store)

    async def begin(self) -> None:
        """After the broker started: watchers, supervisor, ticks, ops endpoint."""
        connector = NatsConnector(self.broker)
        deps = OwnerDeps(
            store=self.store, connector=connector, events=NatsEvents(self.broker), clock=self.clock,
            metrics=self.metrics, settings=self.settings, runner_id=self.runner_id,
            markets=MarketsCache(connector, self.clock, self.settings.markets_ttl_s, self.settings.order_timeout_s),
        )
        nc = self.broker.connection
        assert nc is not None
        self.supervisor = Supervisor(deps, KvLeaseStore(self.leases_kv))
        self._ticks = TickRouter(nc, self.supervisor, self.runner_id, self.settings.interest_s)
        self.supervisor.set_symbols_callback(self._ticks.symbols_changed)
        self._watches = strategy_watches(self.strategies_kv, self.supervisor) + lease_watches(
            self.leases_kv, self.supervisor)
        for watch in self._watches:
            await watch.start()
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in self._watches)), 30.0)
        await self._ticks.start()
        self._task = asyncio.create_task(self.supervisor.run(), name="runner-supervisor")
        self._task.add_done_callback(_log_crash)
        if self._with_ops:
            self.ops = OpsServer(self.settings.ops_host, self.settings.ops_port, self.ready, self._registry)
            port = await self.ops.start()
            log.info("runner %s: ops endpoint on %s:%d", self.runner_id, self.settings.ops_host, port)
        self._ready = True
        log.info("runner %s started", self.runner_id)

    async def end(self) -> None:
        """Release every strategy and the session, stop watching."""
        self._ready = False
        if self.supervisor is not None:
            await self.supervisor.shutdown()
        if self._task is not None:
            await self._task
            self._task = None
        if self._ticks is not None:
            await self._ticks.stop()
        for watch in self._watches:
            await watch.stop()
        if self.ops is not None:
            await self.ops.stop()
            self.ops = None
        log.info("runner %s stopped", self.runner_id)

    async def start(self) -> None:
        """Everything, without a FastStream app (tests, embedding)."""
        await self.open()
        await self.broker.start()
        await self.begin()

    async def stop(self) -> None:
        """Everything :meth:`start` did, undone."""
        await self.end()
        await self.broker.stop()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("runner supervisor stopped", exc_info=task.exception())


def build_app(settings: RunnerSettings | None = None) -> FastStream:
    """The FastStream application of ``python -m bf_runner``."""
    settings = settings or RunnerSettings()
    configure_logging("runner", settings.log_level, settings.log_json)
    service = RunnerService(settings)
    return FastStream(
        service.broker,
        on_startup=[service.open],
        after_startup=[service.begin],
        on_shutdown=[service.end],
        logger=logging.getLogger("bf.runner.app"),
    )
