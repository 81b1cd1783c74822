"""Which processes make up the system and how each one is started (shared by ``up`` and Stack).

Every service runs as ``python -m <module>`` configured only by environment variables (see
README "Settings"). A service is started only if its package has a ``__main__`` module, so
the launcher keeps working while services are still being written.

Start order: simulator, connectors, tester, alerter, runners, gateway (the gateway last, so
that when its /healthz answers the whole system can serve a user). Stop order is reversed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bf_launch.procs import LOOPBACK, ProcessSpec, free_port
from bf_launch.vault_bootstrap import VaultAccess

#: Launcher service name -> Python module run with ``python -m``.
MODULES: dict[str, str] = {
    "sim": "bf_sim",
    "connector": "bf_connector",
    "tester": "bf_tester",
    "alerter": "bf_alerter",
    "runner": "bf_runner",
    "gateway": "bf_gateway",
}
#: All services, in start order.
ALL_SERVICES: tuple[str, ...] = tuple(MODULES)
#: Exchanges the simulator speaks (one listening port each: ``--<exchange>-port``).
SIM_EXCHANGES: tuple[str, ...] = ("mexc", "kucoin")


def has_main(service: str) -> bool:
    """Whether ``python -m <module>`` can run (the package ships a ``__main__``)."""
    try:
        return importlib.util.find_spec(f"{MODULES[service]}.__main__") is not None
    except ImportError:  # the package itself is missing or fails to import
        return False


def exchange_env_name(exchange: str) -> str:
    """``BACKFUTURE_EXCHANGE_URL_<EXCHANGE>``."""
    return f"BACKFUTURE_EXCHANGE_URL_{exchange.upper()}"


@dataclass(frozen=True)
class Wiring:
    """Everything the services need to find each other.

    ``exchange_urls`` is the REST origin each exchange's connector uses (absent: the real
    exchange). ``sim_ports`` is where the simulator listens, per exchange it speaks.
    """

    python: str
    base_env: Mapping[str, str]
    nats_url: str
    vault: VaultAccess
    exchanges: tuple[str, ...]
    exchange_urls: Mapping[str, str]
    sim_ports: Mapping[str, int]
    gateway_host: str
    gateway_port: int
    jwt_secret: str = field(repr=False)
    runner_replicas: int = 1
    log_level: str = "INFO"
    egress_ips: str = "127.0.0.1"
    cwd: Path | None = None
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def sim_url(self, exchange: str) -> str:
        """Origin of the simulator for ``exchange``."""
        return f"http://{LOOPBACK}:{self.sim_ports[exchange]}"

    @property
    def gateway_url(self) -> str:
        """Base URL of the gateway (dashboard and API)."""
        return f"http://{self.gateway_host}:{self.gateway_port}"


def _env(wiring: Wiring, service: str, instance: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(wiring.base_env)
    env.update(
        {
            "BACKFUTURE_NATS_URL": wiring.nats_url,
            "BACKFUTURE_LOG_LEVEL": wiring.log_level,
            "BACKFUTURE_EGRESS_IPS": wiring.egress_ips,
            # Stable per-process identity (lease owner, consumer names, log field).
            "BACKFUTURE_INSTANCE_ID": instance,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    env.update(wiring.service_env.get(service, {}))
    env.update(wiring.service_env.get(instance, {}))
    return env


def _ops(wiring: Wiring, service: str, instance: str, argv_tail: tuple[str, ...], extra: Mapping[str, str]) -> ProcessSpec:
    port = free_port()
    env = _env(wiring, service, instance, {"BACKFUTURE_OPS_HOST": LOOPBACK, "BACKFUTURE_OPS_PORT": str(port), **extra})
    return ProcessSpec(
        name=instance,
        argv=(wiring.python, "-m", MODULES[service], *argv_tail),
        env=env,
        health_url=f"http://{LOOPBACK}:{port}/healthz",
        cwd=wiring.cwd,
    )


def specs_for(service: str, wiring: Wiring) -> list[ProcessSpec]:
    """The processes of one service (a connector per exchange, N runner replicas)."""
    if service == "sim":
        ports = tuple(wiring.sim_ports[ex] for ex in SIM_EXCHANGES)
        argv = [wiring.python, "-m", MODULES["sim"], "--host", LOOPBACK]
        for exchange in SIM_EXCHANGES:
            argv += [f"--{exchange}-port", str(wiring.sim_ports[exchange])]
        env = _env(wiring, "sim", "sim", {})
        return [ProcessSpec(name="sim", argv=tuple(argv), env=env, tcp_ports=ports, cwd=wiring.cwd)]
    if service == "connector":
        out = []
        for exchange in wiring.exchanges:
            extra = dict(wiring.vault.service_env("connector"))
            if exchange in wiring.exchange_urls:
                extra[exchange_env_name(exchange)] = wiring.exchange_urls[exchange]
            if exchange in wiring.sim_ports and wiring.exchange_urls.get(exchange) == wiring.sim_url(exchange):
                # ccxt's client-side limiter only adds seconds of waiting against the
                # simulator (EXCHANGES.md); a real exchange keeps it on.
                extra["BACKFUTURE_ENABLE_RATE_LIMIT"] = "false"
            out.append(_ops(wiring, service, f"connector-{exchange}", ("--exchange", exchange), extra))
        return out
    if service == "runner":
        return [_ops(wiring, service, f"runner-{i}", (), {}) for i in range(1, wiring.runner_replicas + 1)]
    if service in ("tester", "alerter"):
        return [_ops(wiring, service, service, (), {})]
    if service == "gateway":
        env = _env(
            wiring,
            "gateway",
            "gateway",
            {
                **wiring.vault.service_env("gateway"),
                "BACKFUTURE_GATEWAY_HOST": wiring.gateway_host,
                "BACKFUTURE_GATEWAY_PORT": str(wiring.gateway_port),
                "BACKFUTURE_JWT_SECRET": wiring.jwt_secret,
            },
        )
        return [
            ProcessSpec(
                name="gateway",
                argv=(wiring.python, "-m", MODULES["gateway"]),
                env=env,
                health_url=f"{wiring.gateway_url}/healthz",
                cwd=wiring.cwd,
            )
        ]
    raise ValueError(f"unknown service {service!r}; known: {', '.join(ALL_SERVICES)}")


def plan(services: Iterable[str], wiring: Wiring) -> list[ProcessSpec]:
    """Specs of ``services`` in start order (whatever order they were given in)."""
    wanted = set(services)
    unknown = wanted - set(ALL_SERVICES)
    if unknown:
        raise ValueError(f"unknown services {sorted(unknown)}; known: {', '.join(ALL_SERVICES)}")
    return [spec for service in ALL_SERVICES if service in wanted for spec in specs_for(service, wiring)]
