"""The whole system (or a chosen part of it) on free loopback ports, for tests and benchmarks.

::

    with Stack(tmp_path, services=["sim", "connector", "tester", "gateway"]) as stack:
        httpx.post(f"{stack.api_url}/auth/register", json=...)
        stack.kill("runner-1")          # crash one replica
        assert "s3cr3t" not in stack.logs_text()

Everything lives under ``root``: ``nats/`` (JetStream store), ``logs/<process>.log``. NATS
and a dev-mode OpenBao are started unless an existing ``nats_url`` / ``vault`` is passed
(e.g. the test session's servers). Children see only the ``BACKFUTURE_*`` variables the
stack sets (plus ``extra_env`` and per-service ``service_env``), never the developer's shell
settings, so a test is hermetic.

By default a requested service without a ``__main__`` is an error (a test that silently ran
without the service would prove nothing); ``require=False`` skips it and lists it in
:attr:`Stack.missing`.
"""

from __future__ import annotations

import secrets
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from bf_launch.nats import NatsServer
from bf_launch.procs import LOOPBACK, Child, ProcessGroup, clean_env, free_port
from bf_launch.services import ALL_SERVICES, SIM_EXCHANGES, Wiring, has_main, plan
from bf_launch.vault import OpenBaoServer
from bf_launch.vault_bootstrap import VaultAccess, bootstrap


class ServiceUnavailable(RuntimeError):
    """A requested service has no ``__main__`` module yet."""


class Stack:
    """Start with :meth:`start` (or ``with``); stop with :meth:`stop`. Not thread-safe."""

    def __init__(
        self,
        root: Path,
        *,
        services: Iterable[str] = ALL_SERVICES,
        exchanges: Sequence[str] = SIM_EXCHANGES,
        runner_replicas: int = 1,
        nats_url: str | None = None,
        vault: VaultAccess | None = None,
        exchange_urls: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
        egress_ips: str = "127.0.0.1",
        log_level: str = "INFO",
        ready_timeout_s: float = 60.0,
        require: bool = True,
    ) -> None:
        self.root = root
        self.log_dir = root / "logs"
        requested = list(dict.fromkeys(services))
        self.missing: tuple[str, ...] = tuple(s for s in requested if s in ALL_SERVICES and not has_main(s))
        if self.missing and require:
            raise ServiceUnavailable(f"services without a __main__ module yet: {', '.join(self.missing)}")
        self.services: tuple[str, ...] = tuple(s for s in requested if s not in self.missing)
        self.exchanges = tuple(exchanges)
        self.runner_replicas = runner_replicas
        self.ready_timeout_s = ready_timeout_s
        self.jwt_secret = secrets.token_urlsafe(48)
        self.gateway_port = free_port()
        self.sim_ports: dict[str, int] = {ex: free_port() for ex in SIM_EXCHANGES} if "sim" in self.services else {}
        urls = {ex: f"http://{LOOPBACK}:{port}" for ex, port in self.sim_ports.items()}
        urls.update(exchange_urls or {})
        self.exchange_urls: dict[str, str] = urls
        self._nats_url = nats_url
        self._vault = vault
        self._extra_env = dict(extra_env or {})
        self._service_env = {k: dict(v) for k, v in (service_env or {}).items()}
        self._egress_ips = egress_ips
        self._log_level = log_level
        self._nats: NatsServer | None = None
        self._bao: OpenBaoServer | None = None
        self._group = ProcessGroup(self.log_dir)
        self._wiring: Wiring | None = None

    # -- addresses -------------------------------------------------------------------
    @property
    def nats_url(self) -> str:
        """NATS client URL the services use."""
        if self._nats_url is None:
            raise RuntimeError("stack not started")
        return self._nats_url

    @property
    def vault(self) -> VaultAccess:
        """Vault address, root token and every service's AppRole credentials."""
        if self._vault is None:
            raise RuntimeError("stack not started")
        return self._vault

    @property
    def gateway_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the gateway (dashboard)."""
        return f"http://{LOOPBACK}:{self.gateway_port}"

    @property
    def api_url(self) -> str:
        """``<gateway_url>/api/v1``."""
        return f"{self.gateway_url}/api/v1"

    @property
    def sim_urls(self) -> dict[str, str]:
        """Simulator origin per exchange (empty when the simulator is not part of the stack)."""
        return {ex: f"http://{LOOPBACK}:{port}" for ex, port in self.sim_ports.items()}

    @property
    def children(self) -> dict[str, Child]:
        """Every process by name: ``nats``, ``openbao``, ``sim``, ``connector-mexc``, ``runner-1``, ..."""
        return dict(self._group.children)

    def child(self, name: str) -> Child:
        """One process by name."""
        return self._group.children[name]

    def ops_url(self, name: str) -> str:
        """Base URL serving ``/healthz`` and ``/metrics`` of process ``name``."""
        url = self.child(name).spec.health_url
        if url is None:
            raise KeyError(f"{name} has no health endpoint")
        return url.removesuffix("/healthz")

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> Stack:
        """Start servers and services, each waited for until ready. Cleans up on failure."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._nats_url is None:
            self._nats = NatsServer(self.root / "nats", self.log_dir)
            self._group.adopt(self._nats.child)
            self._nats.start()
            self._nats_url = self._nats.url
        if self._vault is None:
            self._bao = OpenBaoServer.dev(self.log_dir)
            self._group.adopt(self._bao.child)
            self._bao.start()
            self._vault = bootstrap(self._bao.addr, self._bao.root_token)
        self._wiring = Wiring(
            python=sys.executable,
            base_env={**clean_env(), **self._extra_env},
            nats_url=self.nats_url,
            vault=self.vault,
            exchanges=self.exchanges,
            exchange_urls=self.exchange_urls,
            sim_ports=self.sim_ports,
            gateway_host=LOOPBACK,
            gateway_port=self.gateway_port,
            jwt_secret=self.jwt_secret,
            runner_replicas=self.runner_replicas,
            log_level=self._log_level,
            egress_ips=self._egress_ips,
            service_env=self._service_env,
        )
        for spec in plan(self.services, self._wiring):
            self._group.start(spec, ready_timeout_s=self.ready_timeout_s)

    def stop(self) -> None:
        """Stop every process, services first. Idempotent."""
        self._group.stop_all()

    def kill(self, name: str) -> None:
        """SIGKILL one process (crash simulation); :meth:`start_service` brings it back."""
        self.child(name).kill()

    def signal(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` to one process (e.g. SIGSTOP to freeze it)."""
        self.child(name).signal(sig)

    def stop_service(self, name: str) -> int | None:
        """Graceful stop of one process; returns its exit code."""
        return self.child(name).stop()

    def start_service(self, name: str) -> Child:
        """(Re)start a stopped process with the same settings and wait until ready."""
        child = self.child(name)
        child.start()
        child.wait_ready(self.ready_timeout_s)
        return child

    def logs_text(self) -> str:
        """Every process log concatenated (e.g. to assert a secret canary never appears)."""
        parts = [p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log"))]
        return "\n".join(parts)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
