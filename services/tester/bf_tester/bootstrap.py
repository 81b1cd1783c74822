"""The only place that reads settings and opens connections (at start-up, never at import).

:class:`TesterService` is the whole tester: the broker and its consumers, the KV-backed
state, the scheduler loop and the ops endpoint. :func:`build_app` wraps it in a FastStream
application, which handles SIGTERM/SIGINT and shuts it down cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid

from faststream import FastStream
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from prometheus_client import REGISTRY, CollectorRegistry

from bf_shared import subjects
from bf_shared.bus import ensure_streams, kv_bucket, make_broker
from bf_shared.logs import configure_logging
from bf_shared.ops import OpsServer

from bf_tester.adapters.clock import SystemClock
from bf_tester.adapters.kv_lease import KvLease
from bf_tester.adapters.kv_state import KvRetestIndex, KvRetryScheduler, KvRunLedger
from bf_tester.adapters.kv_verdicts import KvVerdictStore
from bf_tester.adapters.metrics import PrometheusTesterMetrics
from bf_tester.adapters.nats_bus import NatsProbe, NatsPublisher
from bf_tester.adapters.nats_progress import NatsProgress
from bf_tester.entrypoints.consumers import Deps, register
from bf_tester.ports import Clock
from bf_tester.scheduler import Retester, run_scheduler
from bf_tester.settings import TesterSettings

log = logging.getLogger(__name__)


def replica_id() -> str:
    """A name unique to this process (the lease holder)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class TesterService:
    """One tester replica. ``start`` connects and begins consuming; ``stop`` undoes it."""

    def __init__(
        self,
        settings: TesterSettings,
        *,
        broker: NatsBroker | None = None,
        clock: Clock | None = None,
        rand: random.Random | None = None,
        registry: CollectorRegistry = REGISTRY,
        with_ops: bool = True,
    ) -> None:
        self.settings = settings
        self.broker = broker or make_broker(settings.nats_url, "tester")
        self.clock = clock or SystemClock()
        self._rand = rand or random.Random()
        self._registry = registry
        self._with_ops = with_ops
        self.metrics = PrometheusTesterMetrics(registry)
        self.ops: OpsServer | None = None
        self.kv: KeyValue | None = None
        self.deps: Deps | None = None
        self._stop = asyncio.Event()
        self._scheduler_task: asyncio.Task[None] | None = None
        self._ready = False

    async def ready(self) -> bool:
        """True once consuming, while the bus connection is up."""
        if not self._ready:
            return False
        try:
            return bool(self.broker.connection.is_connected)
        except IncorrectState:  # not connected (yet, or any more)
            return False

    async def open(self) -> None:
        """Connect, create streams and the state and verdict buckets, attach the consumers (not started)."""
        await self.broker.connect()
        js = self.broker.config.connection_state.stream
        await ensure_streams(js, replicas=self.settings.stream_replicas)
        self.kv = await kv_bucket(js, subjects.KV_TESTER, replicas=self.settings.stream_replicas)
        verdicts_kv = await kv_bucket(js, subjects.KV_VERDICTS, replicas=self.settings.stream_replicas)
        self.deps = Deps(
            probe=NatsProbe(self.broker),
            publish=NatsPublisher(self.broker),
            scheduler=KvRetryScheduler(self.kv),
            ledger=KvRunLedger(self.kv, marker_ttl_s=self.settings.done_ttl_s),
            index=KvRetestIndex(self.kv),
            clock=self.clock,
            settings=self.settings,
            rand=self._rand.random,
            metrics=self.metrics,
            verdicts=KvVerdictStore(verdicts_kv),
            progress=NatsProgress(self.broker),
        )
        register(self.broker, self.deps)

    async def begin(self) -> None:
        """After the broker started: the scheduler loop and the ops endpoint."""
        assert self.kv is not None and self.deps is not None, "open() first"
        deps = self.deps
        lease = KvLease(self.kv, holder=replica_id(), ttl_s=self.settings.lease_ttl_s, clock=self.clock)
        retester = Retester(
            index=deps.index,
            publish=deps.publish,
            clock=self.clock,
            settings=self.settings,
            metrics=self.metrics,
            verdicts=deps.verdicts,
        )
        self._stop.clear()
        self._scheduler_task = asyncio.create_task(
            run_scheduler(
                lease=lease,
                scheduler=deps.scheduler,
                retester=retester,
                publish=deps.publish,
                clock=self.clock,
                settings=self.settings,
                stop=self._stop,
            ),
            name="tester-scheduler",
        )
        if self._with_ops:
            self.ops = OpsServer(self.settings.ops_host, self.settings.ops_port, self.ready, self._registry)
            port = await self.ops.start()
            log.info("ops endpoint on %s:%d", self.settings.ops_host, port)
        self._ready = True

    async def end(self) -> None:
        """Stop the scheduler (releasing its lease) and the ops endpoint."""
        self._ready = False
        self._stop.set()
        if self._scheduler_task is not None:
            await self._scheduler_task
            self._scheduler_task = None
        if self.ops is not None:
            await self.ops.stop()
            self.ops = None

    async def start(self) -> None:
        """Everything, for use without a FastStream app (tests, embedding)."""
        await self.open()
        await self.broker.start()
        await self.begin()

    async def stop(self) -> None:
        """Everything :meth:`start` did, undone."""
        await self.end()
        await self.broker.stop()


def build_app(settings: TesterSettings | None = None) -> FastStream:
    """The FastStream application of ``python -m bf_tester``."""
    settings = settings or TesterSettings()  # type: ignore[call-arg]  # values come from the environment
    configure_logging("tester", settings.log_level, settings.log_json)
    service = TesterService(settings)
    return FastStream(
        service.broker,
        on_startup=[service.open],
        after_startup=[service.begin],
        on_shutdown=[service.end],
        logger=logging.getLogger("bf.tester.app"),
    )
