"""Market data in: one core NATS subscription per needed symbol, and interest announcements.

Ticks are not durable (the latest price is all that matters); a runner subscribes to the
symbols of the strategies it owns and re-announces them to the connectors every
``interest_s`` seconds, so a connector polls exactly the symbols someone needs, once.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.strategy_messages import MarketDataInterest, Tick

from bf_runner.supervisor import Supervisor

log = logging.getLogger(__name__)


class TickRouter:
    """Keeps one subscription per (exchange, symbol) the supervisor needs."""

    def __init__(self, nc: Client, supervisor: Supervisor, runner_id: str, interest_s: float) -> None:
        self.nc = nc
        self.sup = supervisor
        self.runner_id = runner_id
        self.interest_s = interest_s
        self._subs: dict[tuple[str, str], Subscription] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def symbols_changed(self, needed: set[tuple[str, str]]) -> None:
        """Subscribe to new symbols, drop the ones no strategy needs any more."""
        async with self._lock:
            for key in needed - set(self._subs):
                exchange, symbol = key
                self._subs[key] = await self.nc.subscribe(subjects.ticks_subject(exchange, symbol),
                                                          cb=self._handler(exchange, symbol))
            for key in set(self._subs) - needed:
                await self._subs.pop(key).unsubscribe()

    def _handler(self, exchange: str, symbol: str):  # type: ignore[no-untyped-def]
        on_tick = self.sup.on_tick

        async def handle(msg: Msg) -> None:
            try:
                tick = Tick.model_validate_json(msg.data)
            except ValidationError:
                log.warning("malformed tick on %s dropped", msg.subject)
                return
            on_tick(exchange, symbol, tick.last)

        return handle

    async def start(self) -> None:
        """Begin announcing interest."""
        self._task = asyncio.create_task(self._announce(), name="md-interest")

    async def stop(self) -> None:
        """Stop announcing and unsubscribe."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.symbols_changed(set())

    async def _announce(self) -> None:
        ttl = self.interest_s * 3
        while True:
            try:
                for (exchange, market), symbols in self.sup.symbols_by_market().items():
                    interest = MarketDataInterest(runner_id=self.runner_id, exchange=exchange, market=market,  # type: ignore[arg-type]
                                                  symbols=tuple(sorted(symbols)), ttl_s=ttl)
                    await self.nc.publish(subjects.md_interest_subject(exchange), interest.model_dump_json().encode())
            except Exception as e:  # the bus reconnects on its own; announce again next round
                log.warning("interest announcement failed: %s", type(e).__name__)
            await asyncio.sleep(self.interest_s)
