"""``python -m bf_launch up``: the whole system on this machine, until Ctrl-C.

Starts NATS (file store) and OpenBao (raft, static auto-unseal) under the state directory,
bootstraps Vault (new AppRole secret_ids at every start, the old ones destroyed), then every
service that has a ``__main__``: simulator, one connector per catalogue exchange, tester,
alerter, ``BACKFUTURE_RUNNER_REPLICAS`` runners, gateway. Each is waited for on its
``/healthz``. Then it registers the demo user and prints where everything is.

While running it supervises: a process that exits is restarted after 1, 2, 4 ... 30 s
(the counter resets after a minute of good health). Ctrl-C or SIGTERM stops every child,
services first, servers last; a second start finds users, connections and secrets again.

Exchange origins: ``BACKFUTURE_EXCHANGE_URL_<EXCHANGE>`` set by the user wins; otherwise an
exchange the simulator speaks goes to the simulator, and any other exchange goes to the real
exchange (the connector's default).
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bf_launch import demo
from bf_launch.nats import NatsServer
from bf_launch.procs import LOOPBACK, Child, ProcessGroup, StartupError, clean_env, free_port, port_accepts
from bf_launch.services import ALL_SERVICES, SIM_EXCHANGES, Wiring, has_main, plan
from bf_launch.settings import LaunchSettings
from bf_launch.statefiles import StateLock, StateLockBusy, read_or_create_token
from bf_launch.vault import OpenBaoServer
from bf_launch.vault_bootstrap import bootstrap
from bf_shared.exchanges import EXCHANGES
from bf_shared.logs import register_secret
from bf_shared.settings import exchange_url_override

log = logging.getLogger("bf.launch")


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


def _raise_interrupted(signum: int, _: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _note_signal(signum: int, _: FrameType | None) -> None:
    print(f"({signal.Signals(signum).name}: already stopping, please wait)", file=sys.stderr, flush=True)


def _check_ports_free(ports: dict[str, int]) -> None:
    busy = [f"{port} ({setting})" for setting, port in ports.items() if port_accepts(LOOPBACK, port)]
    if busy:
        raise StartupError(
            "ports already in use: " + ", ".join(busy) + ". Stop what uses them or set the named variables."
        )


def _exchange_plan(settings: LaunchSettings, sim_available: bool) -> tuple[dict[str, str], dict[str, int], bool]:
    """(origin per exchange, simulator port per exchange, whether to start the simulator)."""
    urls: dict[str, str] = {}
    sim_ports: dict[str, int] = {}
    needs_sim = False
    for exchange in EXCHANGES:
        override = exchange_url_override(exchange)
        if override:
            urls[exchange] = override
        elif exchange in SIM_EXCHANGES:
            urls[exchange] = f"http://{LOOPBACK}:{settings.sim_port(exchange)}"
            needs_sim = True
    for exchange in SIM_EXCHANGES:
        # The simulator listens for every exchange it speaks; an overridden exchange gets a
        # free port so the user's own server may sit on the configured one.
        sim_ports[exchange] = free_port() if exchange_url_override(exchange) else settings.sim_port(exchange)
    return urls, sim_ports, needs_sim and sim_available


def _banner(
    settings: LaunchSettings,
    wiring: Wiring,
    nats: NatsServer,
    bao: OpenBaoServer,
    group: ProcessGroup,
    login: demo.DemoLogin | None,
    skipped: list[str],
) -> str:
    out = ["", "BackFuture Connect is running.", ""]
    if "gateway" in group.children:
        out += [f"  Dashboard   {wiring.gateway_url}/", f"  API         {wiring.gateway_url}/api/v1"]
    else:
        out += ["  Dashboard   (gateway not available yet: no bf_gateway.__main__)"]
    if login is not None:
        status = "ok" if login.login_ok else f"NOT WORKING: {login.problem}"
        out += [f"  Demo login  {login.email} / {login.password}   ({status})"]
    out += [
        "",
        f"  NATS        {nats.url}  (monitoring {nats.monitor_url})",
        f"  OpenBao     {bao.addr}  (root token in {bao.init_file})",
        f"  State       {settings.state_dir}",
        f"  Logs        {group.log_dir}/<process>.log",
        "",
        "  Processes:",
    ]
    for child in group.children.values():
        ports = ", ".join(map(str, child.spec.tcp_ports))
        where = child.spec.health_url or (f"ports {ports}" if ports else "")
        out.append(f"    {child.name:<18} pid {child.pid:<8} {where}")
    for name, url in sorted(wiring.exchange_urls.items()):
        out.append(f"  Exchange    {name:<8} -> {url}")
    if skipped:
        out += ["", f"  Not started (no __main__ yet): {', '.join(skipped)}"]
    keys = demo.demo_keys()
    if keys is not None:
        out += ["", "  Simulator demo keys (they work against the simulator only):", *demo.render_keys(keys, 4)]
    out += ["", "Ctrl-C stops everything."]
    return "\n".join(out) + "\n"


def _supervise(group: ProcessGroup, sleep: Callable[[float], None] = time.sleep) -> None:
    """Restart exited children with exponential backoff, forever (until a signal)."""
    failures: dict[str, int] = {}
    due: dict[str, float] = {}
    while True:
        sleep(0.5)
        now = time.monotonic()
        for child in group.children.values():
            if child.running:
                if now - child.started_at > 60:
                    failures.pop(child.name, None)
                continue
            if child.name not in due:
                count = failures.get(child.name, 0)
                delay = min(30.0, 2.0**count)
                failures[child.name] = count + 1
                due[child.name] = now + delay
                log.warning(
                    "%s exited with code %s; restarting in %.0fs (log: %s)",
                    child.name, child.returncode, delay, child.log_path,
                )  # fmt: skip
            elif now >= due[child.name]:
                del due[child.name]
                _restart(child)


def _restart(child: Child) -> None:
    try:
        child.start()
        log.info("%s restarted (pid %s)", child.name, child.pid)
    except OSError as e:
        log.error("%s could not be restarted: %s", child.name, e)


def _start_all(settings: LaunchSettings, state: Path, group: ProcessGroup) -> None:
    _check_ports_free(
        {
            "BACKFUTURE_NATS_PORT": settings.nats_port,
            "BACKFUTURE_NATS_MONITOR_PORT": settings.nats_monitor_port,
            "BACKFUTURE_VAULT_PORT": settings.vault_port,
            "BACKFUTURE_VAULT_CLUSTER_PORT": settings.vault_cluster_port,
            "BACKFUTURE_GATEWAY_PORT": settings.gateway_port,
        }
    )
    nats = NatsServer(state / "nats", group.log_dir, port=settings.nats_port, monitor_port=settings.nats_monitor_port)
    group.adopt(nats.child)
    nats.start()
    log.info("NATS ready at %s", nats.url)

    bao = OpenBaoServer.persistent(
        state / "openbao", group.log_dir, port=settings.vault_port, cluster_port=settings.vault_cluster_port
    )
    group.adopt(bao.child)
    bao.start(settings.ready_timeout_s)
    access = bootstrap(bao.addr, bao.root_token, rotate_secret_ids=True)
    log.info("OpenBao ready at %s (bootstrapped)", bao.addr)

    selected = settings.selected_services(ALL_SERVICES)
    available = [s for s in selected if has_main(s)]
    skipped = [s for s in selected if s not in available]
    exchange_urls, sim_ports, start_sim = _exchange_plan(settings, "sim" in available)
    services = [s for s in available if s != "sim" or start_sim]
    if start_sim:
        _check_ports_free({f"BACKFUTURE_SIM_{ex.upper()}_PORT": p for ex, p in sim_ports.items()})
    elif "sim" in skipped and any(ex in SIM_EXCHANGES for ex in exchange_urls):
        log.warning("the exchange simulator is not available: connectors point at ports nothing listens on")

    if settings.jwt_secret:
        jwt = settings.jwt_secret.get_secret_value()
    else:
        jwt = read_or_create_token(state / "secrets" / "jwt_secret")
    register_secret(jwt)
    wiring = Wiring(
        python=sys.executable,
        base_env=clean_env(keep_backfuture=True),
        nats_url=nats.url,
        vault=access,
        exchanges=tuple(EXCHANGES),
        exchange_urls=exchange_urls,
        sim_ports=sim_ports,
        gateway_host=settings.gateway_host,
        gateway_port=settings.gateway_port,
        jwt_secret=jwt,
        runner_replicas=settings.runner_replicas,
        log_level=settings.log_level,
        egress_ips=settings.egress_ips,
    )
    for spec in plan(services, wiring):
        log.info("starting %s", spec.name)
        group.start(spec, ready_timeout_s=settings.ready_timeout_s)

    login = None
    if "gateway" in services:
        password = (
            settings.demo_password.get_secret_value()
            if settings.demo_password
            else demo.demo_password(state / "secrets" / "demo_password")
        )
        login = demo.ensure_demo_user(f"{wiring.gateway_url}/api/v1", settings.demo_email, password)
    print(_banner(settings, wiring, nats, bao, group, login, skipped), flush=True)


def run_up(settings: LaunchSettings) -> int:
    """Run until a signal; returns the process exit code."""
    state = settings.state_dir.expanduser().resolve()
    settings = settings.model_copy(update={"state_dir": state})
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        lock = StateLock(state).acquire()
    except StateLockBusy as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    group = ProcessGroup(state / "logs")
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        _start_all(settings, state, group)
        _supervise(group)
    except Interrupted as e:
        log.info("%s received: stopping", e)
    except (StartupError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        for s in previous:
            signal.signal(s, _note_signal)
        group.stop_all()
        for s, handler in previous.items():
            signal.signal(s, handler)
        lock.release()
        log.info("all processes stopped")
    return code
