"""Strategies in KV ``bf_strategies``, through the gateway's :class:`KvStore` port.

* ``spec.<strategy_id>`` — :class:`StrategySpec`, written only by the gateway;
* ``byconn.<connection_id>.<strategy_id>`` — index of a connection's strategies;
* ``status.<strategy_id>`` — :class:`StrategyStatusView`, written by the owning runner.
"""

from __future__ import annotations

from collections.abc import Callable

from bf_shared.strategy_messages import (
    StrategySpec,
    StrategyStatusView,
    by_connection_key,
    spec_key,
    status_key,
)

from bf_gateway.adapters.kv import KvStore, mutate_model
from bf_gateway.domain.ids import is_id

class StrategyStore:
    """Specs and status views of strategies."""

    def __init__(self, kv: KvStore) -> None:
        self._kv = kv

    async def get(self, strategy_id: str) -> StrategySpec | None:
        """The spec, or None (also for a malformed id)."""
        if not is_id(strategy_id):
            return None
        entry = await self._kv.get(spec_key(strategy_id))
        return None if entry is None else StrategySpec.model_validate_json(entry.value)

    async def create(self, spec: StrategySpec) -> None:
        """Store a new strategy and index it under its connection."""
        await self._kv.create(spec_key(spec.strategy_id), spec.model_dump_json().encode())
        await self._kv.put(by_connection_key(spec.connection_id, spec.strategy_id), b"")

    async def remove(self, spec: StrategySpec) -> None:
        """Undo :meth:`create` (when announcing it failed)."""
        await self._kv.delete(by_connection_key(spec.connection_id, spec.strategy_id))
        await self._kv.delete(spec_key(spec.strategy_id))

    async def mutate(self, strategy_id: str,
                     change: Callable[[StrategySpec], StrategySpec | None]) -> StrategySpec | None:
        """Apply ``change`` with optimistic concurrency; None when the strategy does not exist."""
        return await mutate_model(self._kv, spec_key(strategy_id), StrategySpec, change)

    async def of_connection(self, connection_id: str) -> list[StrategySpec]:
        """Every strategy ever enabled on the connection, oldest first."""
        if not is_id(connection_id):
            return []
        prefix = f"byconn.{connection_id}."
        specs = []
        for entry in await self._kv.entries(f"byconn.{connection_id}.*"):
            spec = await self.get(entry.key[len(prefix):])
            if spec is not None:
                specs.append(spec)
        return sorted(specs, key=lambda s: (s.created_at, s.strategy_id))

    async def status(self, strategy_id: str) -> StrategyStatusView | None:
        """What the owning runner last reported."""
        entry = await self._kv.get(status_key(strategy_id))
        return None if entry is None or not entry.value else StrategyStatusView.model_validate_json(entry.value)
