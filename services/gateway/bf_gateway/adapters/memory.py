"""In-memory adapters of the gateway's ports, for unit tests and the dashboard's local work.

They keep the real adapters' semantics (revisions, create-if-absent, subject filters) and
can be told to fail, so the handlers' error paths are testable without a server.
"""

from __future__ import annotations

from pydantic import BaseModel

from bf_gateway.adapters.kv import KeyExists, KvEntry, KvStore, KvUnavailable, RevisionConflict
from bf_gateway.adapters.publisher import PublishFailed, Publisher


def subject_matches(pattern: str, key: str) -> bool:
    """NATS subject-filter matching: ``*`` is one token, a final ``>`` is one or more."""
    want, have = pattern.split("."), key.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


class InMemoryKv(KvStore):
    """A bucket in a dict. ``fail_writes``/``fail_reads`` make calls raise :class:`KvUnavailable`."""

    def __init__(self) -> None:
        self.data: dict[str, KvEntry] = {}
        self._revision = 0
        self.fail_writes = False
        self.fail_reads = False

    def _write(self, key: str, value: bytes) -> int:
        if self.fail_writes:
            raise KvUnavailable("key-value store unavailable: fake is down")
        self._revision += 1
        self.data[key] = KvEntry(key, value, self._revision)
        return self._revision

    def _read(self) -> None:
        if self.fail_reads:
            raise KvUnavailable("key-value store unavailable: fake is down")

    async def get(self, key: str) -> KvEntry | None:
        self._read()
        return self.data.get(key)

    async def create(self, key: str, value: bytes) -> int:
        if key in self.data:
            raise KeyExists(key)
        return self._write(key, value)

    async def update(self, key: str, value: bytes, revision: int) -> int:
        current = self.data.get(key)
        if current is None or current.revision != revision:
            raise RevisionConflict(key)
        return self._write(key, value)

    async def put(self, key: str, value: bytes) -> int:
        return self._write(key, value)

    async def delete(self, key: str) -> None:
        if self.fail_writes:
            raise KvUnavailable("key-value store unavailable: fake is down")
        self.data.pop(key, None)

    async def entries(self, pattern: str) -> list[KvEntry]:
        self._read()
        return [entry for key, entry in sorted(self.data.items()) if subject_matches(pattern, key)]


class RecordingPublisher(Publisher):
    """Keeps every published ``(subject, message)``; ``fail_on`` subjects raise :class:`PublishFailed`."""

    def __init__(self) -> None:
        self.published: list[tuple[str, BaseModel]] = []
        self.fail_on: set[str] = set()

    async def publish(self, subject: str, message: BaseModel) -> None:
        if subject in self.fail_on or "*" in self.fail_on:
            raise PublishFailed(f"publish to {subject} failed: fake")
        self.published.append((subject, message))

    def subjects(self) -> list[str]:
        """The subjects published so far, in order."""
        return [subject for subject, _ in self.published]
