"""NATS KV adapters: ``bf_strategies`` (state, status, connection records) and ``bf_leases``.

Compare-and-set maps onto KV revisions: ``create`` when the key must not exist, ``update``
with the last revision otherwise; a wrong revision raises :class:`StaleRevision`.
"""

from __future__ import annotations

from typing import TypeVar

from nats.js.errors import APIError, KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from bf_shared.strategy_messages import StrategyStatusView, status_key

from bf_runner.domain.connections import ConnectionRecord, ConnectionState, conn_key
from bf_runner.domain.leases import Claim, Session, claim_key, session_key
from bf_runner.domain.model import StrategyState
from bf_runner.ports import StaleRevision

M = TypeVar("M", bound=BaseModel)


def state_key(strategy_id: str) -> str:
    """KV key of a strategy's runtime state (runner-private)."""
    return f"state.{strategy_id}"


async def read(kv: KeyValue, key: str, model: type[M]) -> tuple[M, int] | None:
    """The value and its revision, or None when absent or deleted."""
    try:
        entry = await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return None
    if not entry.value:
        return None
    return model.model_validate_json(entry.value), int(entry.revision or 0)


async def cas(kv: KeyValue, key: str, value: BaseModel, revision: int | None) -> int:
    """Write ``value`` if the key is still at ``revision`` (None: absent)."""
    data = value.model_dump_json().encode()
    try:
        if revision is None:
            return int(await kv.create(key, data))
        return int(await kv.update(key, data, last=revision))
    except KeyWrongLastSequenceError as e:
        raise StaleRevision(key) from e


_WRONG_LAST_SEQUENCE = (10071, 10164)


async def cas_delete(kv: KeyValue, key: str, revision: int) -> None:
    """Delete ``key`` if it is still at ``revision``."""
    try:
        await kv.delete(key, last=revision)
    except KeyWrongLastSequenceError as e:
        raise StaleRevision(key) from e
    except APIError as e:  # delete() does not translate the server's error itself
        if e.err_code in _WRONG_LAST_SEQUENCE:
            raise StaleRevision(key) from e
        raise


class KvStrategyStore:
    """:class:`bf_runner.ports.StrategyStore` on bucket ``bf_strategies``."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def load_state(self, strategy_id: str) -> tuple[StrategyState, int] | None:
        return await read(self.kv, state_key(strategy_id), StrategyState)

    async def save_state(self, state: StrategyState, revision: int | None) -> int:
        return await cas(self.kv, state_key(state.strategy_id), state, revision)

    async def save_status(self, view: StrategyStatusView) -> None:
        await self.kv.put(status_key(view.strategy_id), view.model_dump_json().encode())

    async def connection_state(self, connection_id: str) -> ConnectionState | None:
        found = await read(self.kv, conn_key(connection_id), ConnectionRecord)
        return found[0].state if found else None

    async def connection_record(self, connection_id: str) -> tuple[ConnectionRecord, int] | None:
        """The record and its revision (for the compare-and-set of the connection handler)."""
        return await read(self.kv, conn_key(connection_id), ConnectionRecord)

    async def save_connection(self, record: ConnectionRecord, revision: int | None) -> int:
        """Compare-and-set a connection record."""
        return await cas(self.kv, conn_key(record.connection_id), record, revision)


class KvLeaseStore:
    """:class:`bf_runner.ports.LeaseStore` on bucket ``bf_leases``."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def put_session(self, session: Session, revision: int | None) -> int:
        return await cas(self.kv, session_key(session.runner_id), session, revision)

    async def delete_session(self, runner_id: str, revision: int) -> None:
        await cas_delete(self.kv, session_key(runner_id), revision)

    async def put_claim(self, strategy_id: str, claim: Claim, revision: int | None) -> int:
        return await cas(self.kv, claim_key(strategy_id), claim, revision)

    async def delete_claim(self, strategy_id: str, revision: int) -> None:
        await cas_delete(self.kv, claim_key(strategy_id), revision)
