"""Files in the state directory: private (0600) secrets written atomically, and a lock.

Secret files are created with mode 0600 from the first byte (``os.open`` with the mode, then
rename), never written world-readable and chmod-ed afterwards.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO


def write_private(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``, readable by the owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of the private file ``path``, created with ``make()`` on first use."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # tighten a copy someone made with a looser umask
        return path.read_bytes()
    data = make()
    write_private(path, data)
    return data


def read_or_create_token(path: Path, nbytes: int = 48) -> str:
    """A random URL-safe token persisted in ``path`` (e.g. the JWT signing secret)."""
    return read_or_create(path, lambda: secrets.token_urlsafe(nbytes).encode()).decode().strip()


class StateLockBusy(RuntimeError):
    """Another launcher already uses this state directory."""


class StateLock:
    """An exclusive ``flock`` on ``<state_dir>/launcher.lock`` for the launcher's lifetime.

    Two launchers on one state directory would start two servers on one data directory; the
    kernel releases the lock if the launcher dies, so a stale lock cannot block a restart.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "launcher.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> StateLock:
        """Take the lock or raise :class:`StateLockBusy`."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise StateLockBusy(f"another launcher is using {self.path.parent}") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        """Drop the lock."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
