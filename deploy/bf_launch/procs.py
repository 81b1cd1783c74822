"""Child processes for the launcher and the test suite: start, log to files, wait, stop.

Every child runs in its own session, so a Ctrl-C in the terminal reaches only the launcher,
which then stops the children in reverse start order (services before the servers they
need). On Linux each child also gets ``PR_SET_PDEATHSIG``: if the launcher or the test
process dies without cleaning up, the kernel sends the child SIGTERM, so nothing is orphaned.
Output (stdout and stderr) goes to ``<log_dir>/<name>.log``, appended across restarts.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOOPBACK = "127.0.0.1"

_issued_ports: set[int] = set()
_ports_lock = threading.Lock()


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` now and was not handed out before by this process.

    The port is released before the caller binds it, so another program could take it in
    between; remembering what we handed out at least keeps our own children from colliding.
    """
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        with _ports_lock:
            if port not in _issued_ports:
                _issued_ports.add(port)
                return port
    raise RuntimeError("no free port found")


def port_accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def http_status(url: str, timeout_s: float = 2.0) -> int | None:
    """The HTTP status of ``GET url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (loopback URLs we built)
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except (urllib.error.URLError, OSError, TimeoutError):
        return None


def clean_env(*, keep_backfuture: bool = False) -> dict[str, str]:
    """This process's environment without Vault/OpenBao client variables (a stray
    ``VAULT_TOKEN`` or ``BAO_ADDR`` must not leak into a child) and, unless asked, without
    ``BACKFUTURE_*`` settings, so test children see only what the test sets."""
    drop = ("BAO_", "VAULT_") if keep_backfuture else ("BAO_", "VAULT_", "BACKFUTURE_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


class StartupError(RuntimeError):
    """A child exited or did not become ready in time; the message ends with its log tail."""


@dataclass(frozen=True)
class ProcessSpec:
    """How to run one child and how to tell it is ready.

    Readiness is ``health_url`` answering 200 (``/healthz``), else every port in
    ``tcp_ports`` accepting connections, else just "still running after start".
    """

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    health_url: str | None = None
    tcp_ports: tuple[int, ...] = ()
    cwd: Path | None = None
    stop_timeout_s: float = 10.0


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """preexec_fn: ask the kernel to SIGTERM the child when the parent goes away (Linux)."""

    def preexec() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


class Child:
    """One supervised child process (restartable: :meth:`start` again after it stopped)."""

    def __init__(self, spec: ProcessSpec, log_dir: Path) -> None:
        self.spec = spec
        self.log_path = log_dir / f"{spec.name}.log"
        self.started_at = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def name(self) -> str:
        """The child's name (also its log file's stem)."""
        return self.spec.name

    @property
    def pid(self) -> int | None:
        """The OS process id while started."""
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """The exit code once it exited, else None."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Started and not exited."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Spawn the process (no waiting; see :meth:`wait_ready`)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's life)
        stamp = datetime.now(UTC).isoformat()
        self._log.write(f"--- {stamp} starting {self.name}: {' '.join(self.spec.argv)}\n".encode())
        self._log.flush()
        # PDEATHSIG fires when the *thread* that forked exits, so only use it from the
        # main thread, which lives as long as the process.
        main_thread = threading.current_thread() is threading.main_thread()
        preexec = _die_with_parent(os.getpid()) if sys.platform == "linux" and main_thread else None
        env = {k: v for k, v in self.spec.env.items()}
        self._proc = subprocess.Popen(  # noqa: S603 (argv built by the launcher, no shell)
            list(self.spec.argv),
            env=env,
            cwd=self.spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,  # noqa: PLW1509 (only async-signal-safe calls in it)
        )
        self.started_at = time.monotonic()

    def is_ready(self) -> bool:
        """One readiness probe (see :class:`ProcessSpec`)."""
        if not self.running:
            return False
        if self.spec.health_url:
            return http_status(self.spec.health_url) == 200
        return all(port_accepts(LOOPBACK, p) for p in self.spec.tcp_ports)

    def wait_ready(self, timeout_s: float = 60.0, interval_s: float = 0.1) -> None:
        """Block until ready; raises :class:`StartupError` if it exits or times out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.running:
                raise StartupError(
                    f"{self.name} exited with code {self.returncode} during start-up "
                    f"(log: {self.log_path})\n{self.log_tail()}"
                )
            if self.is_ready():
                return
            if time.monotonic() >= deadline:
                what = self.spec.health_url or f"ports {self.spec.tcp_ports}"
                raise StartupError(
                    f"{self.name} not ready after {timeout_s:.0f}s ({what}; log: {self.log_path})\n"
                    f"{self.log_tail()}"
                )
            time.sleep(interval_s)

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the child's whole process group."""
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            self._proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL now (crash simulation, e.g. runner failover) and reap it."""
        self.signal(signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()
        self._close_log()

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM, wait up to ``timeout_s`` (default the spec's), then SIGKILL. Idempotent."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self._proc.wait(self.spec.stop_timeout_s if timeout_s is None else timeout_s)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self._proc.wait()
        # Reap grandchildren left in the group (nothing should remain after a clean stop).
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._close_log()
        return self._proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the child's log."""
        try:
            data = self.log_path.read_bytes()[-20_000:]
        except OSError:
            return ""
        return "\n".join(data.decode(errors="replace").splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class ProcessGroup:
    """Children started in order, stopped in reverse order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: dict[str, Child] = {}

    def start(self, spec: ProcessSpec, *, ready_timeout_s: float | None = 60.0) -> Child:
        """Start ``spec`` (names are unique) and wait until ready unless the timeout is None."""
        if spec.name in self.children and self.children[spec.name].running:
            raise RuntimeError(f"{spec.name} is already running")
        child = Child(spec, self.log_dir)
        self.children[spec.name] = child
        child.start()
        if ready_timeout_s is not None:
            child.wait_ready(ready_timeout_s)
        return child

    def adopt(self, child: Child) -> Child:
        """Take over an already started child (e.g. a server) so it is supervised and stopped."""
        self.children[child.name] = child
        return child

    def stop_all(self) -> None:
        """Stop every child, last started first."""
        for child in reversed(list(self.children.values())):
            child.stop()

    def exited(self) -> list[Child]:
        """Children that were started and have exited."""
        return [c for c in self.children.values() if c.pid is not None and not c.running]
