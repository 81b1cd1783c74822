"""A real ``nats-server`` with JetStream on loopback, for the launcher and the tests.

JetStream stores its file streams and KV buckets under ``<store_dir>/jetstream``, so a second
start on the same directory finds every stream, consumer and KV entry again. Ready means the
monitoring endpoint's ``/healthz`` answers 200, which includes JetStream having recovered
its streams.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from bf_launch.binaries import nats_server_binary
from bf_launch.procs import LOOPBACK, Child, ProcessSpec, clean_env, free_port


class NatsServer:
    """One ``nats-server -js`` process. Port 0 means "pick a free loopback port"."""

    def __init__(
        self,
        store_dir: Path,
        log_dir: Path,
        *,
        port: int = 0,
        monitor_port: int = 0,
        host: str = LOOPBACK,
        name: str = "nats",
    ) -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port or free_port(host)
        self.monitor_port = monitor_port or free_port(host)
        argv = (
            str(nats_server_binary()),
            "-js",
            "-a", host,
            "-p", str(self.port),
            "-m", str(self.monitor_port),
            "-sd", str(store_dir),
            "-n", name,
        )  # fmt: skip
        spec = ProcessSpec(
            name=name,
            argv=argv,
            env=clean_env(),
            health_url=f"{self.monitor_url}/healthz",
            stop_timeout_s=15.0,
        )
        self.child = Child(spec, log_dir)

    @property
    def url(self) -> str:
        """Client URL, e.g. ``nats://127.0.0.1:4222``."""
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        """HTTP monitoring base URL (``/healthz``, ``/jsz``, ``/varz``)."""
        return f"http://{self.host}:{self.monitor_port}"

    def start(self, timeout_s: float = 20.0) -> NatsServer:
        """Start and wait until JetStream is healthy."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.child.start()
        self.child.wait_ready(timeout_s)
        return self

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM flushes the file store), SIGKILL after 15 s."""
        self.child.stop()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
