"""The connection verdicts the connector checks before placing an order (see
:mod:`bf_connector.domain.order_guard`), as a port and its in-memory book.

The book is filled by a KV watch (:mod:`bf_connector.adapters.kv_verdicts`): an order costs
a dictionary lookup, not a KV read. Until a full snapshot of the bucket has arrived the book
reports ``loaded = False`` and every placement is refused (fail closed); the same happens
while a broken watch re-synchronises.
"""

from __future__ import annotations

from typing import Protocol

from bf_shared.messages import ConnectionVerdict
from bf_shared.subjects import verdict_key


class VerdictSource(Protocol):
    """What :func:`bf_connector.orders.handle_order` needs to know about verdicts."""

    @property
    def loaded(self) -> bool:
        """True once every verdict stored has been seen (and while the watch keeps up)."""
        ...

    def get(self, connection_id: str) -> ConnectionVerdict | None:
        """The connection's verdict as last seen (None: none known, or not loaded)."""
        ...

    async def refresh(self, connection_id: str) -> ConnectionVerdict | None:
        """The connection's verdict read from the bucket now (None when absent or unreadable).

        Used only before refusing: the tester stores a verdict before announcing it, so a
        runner that resumes on the announcement may be a moment ahead of the watch.
        """
        ...


class VerdictBook:
    """Verdicts by KV key. A (re)load collects a whole snapshot, then replaces the book at once."""

    def __init__(self) -> None:
        self._verdicts: dict[str, ConnectionVerdict] = {}
        self._incoming: dict[str, ConnectionVerdict] | None = None
        self._loaded = False

    @property
    def loaded(self) -> bool:
        """True between a completed snapshot and the next :meth:`begin_load`."""
        return self._loaded

    def __len__(self) -> int:
        return len(self._verdicts)

    def begin_load(self) -> None:
        """A new snapshot starts: refuse until it is complete (what we hold may be stale)."""
        self._loaded = False
        self._incoming = {}

    def end_load(self) -> None:
        """The snapshot is complete: it becomes the book."""
        if self._incoming is not None:
            self._verdicts = self._incoming
            self._incoming = None
        self._loaded = True

    def apply(self, key: str, verdict: ConnectionVerdict | None) -> None:
        """A stored value (None: deleted, or unreadable and so treated as absent)."""
        target = self._incoming if self._incoming is not None else self._verdicts
        if verdict is None:
            target.pop(key, None)
        else:
            target[key] = verdict

    def get(self, connection_id: str) -> ConnectionVerdict | None:
        """The verdict of ``connection_id`` (None until loaded)."""
        if not self._loaded:
            return None
        verdict = self._verdicts.get(verdict_key(connection_id))
        # A hashed key could in theory be shared: trust only a verdict about this connection.
        return verdict if verdict is not None and verdict.connection_id == connection_id else None
