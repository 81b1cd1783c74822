"""bf_launch.stack.Stack (what e2e tests and benchmarks start) and the process plan it shares
with the launcher."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import hvac
import pytest

from bf_launch import stack as stack_module
from bf_launch.procs import http_status, port_accepts
from bf_launch.services import Wiring, plan
from bf_launch.stack import ServiceUnavailable, Stack
from bf_launch.vault_bootstrap import AppRoleCreds, VaultAccess

from .test_infra_procs import wait_gone


def test_a_servers_only_stack_starts_its_own_nats_and_bootstrapped_vault(tmp_path: Path) -> None:
    with Stack(tmp_path, services=[]) as stack:
        pids = {name: child.pid for name, child in stack.children.items()}
        assert set(pids) == {"nats", "openbao"}
        assert stack.nats_url.startswith("nats://127.0.0.1:")
        connector = hvac.Client(url=stack.vault.addr)
        creds = stack.vault.approles["connector"]
        connector.auth.approle.login(role_id=creds.role_id, secret_id=creds.secret_id)
        assert connector.is_authenticated()
    assert all(pid is not None and wait_gone(pid) for pid in pids.values())


def test_the_simulator_runs_in_a_stack_and_can_be_crashed_and_restarted(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory(services=["sim"])
    mexc, kucoin = stack.sim_ports["mexc"], stack.sim_ports["kucoin"]
    assert port_accepts("127.0.0.1", mexc) and port_accepts("127.0.0.1", kucoin)
    assert stack.sim_urls == {"mexc": f"http://127.0.0.1:{mexc}", "kucoin": f"http://127.0.0.1:{kucoin}"}
    assert http_status(f"{stack.sim_urls['mexc']}/api/v3/ping") == 200

    stack.kill("sim")
    assert not port_accepts("127.0.0.1", mexc)
    stack.start_service("sim")
    assert port_accepts("127.0.0.1", mexc)
    assert "starting sim" in stack.logs_text()


def test_a_requested_service_without_main_is_an_error_unless_optional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module, "has_main", lambda service: service != "runner")
    with pytest.raises(ServiceUnavailable, match="runner"):
        Stack(tmp_path, services=["sim", "runner"])
    optional = Stack(tmp_path, services=["sim", "runner"], require=False)
    assert optional.missing == ("runner",) and optional.services == ("sim",)


def wiring(**overrides: object) -> Wiring:
    vault = VaultAccess(
        addr="http://127.0.0.1:8200",
        root_token="root",
        approles={s: AppRoleCreds(f"role-{s}", f"secret-{s}") for s in ("gateway", "connector")},
    )
    values: dict[str, object] = dict(
        python="python",
        base_env={"PATH": "/usr/bin"},
        nats_url="nats://127.0.0.1:4222",
        vault=vault,
        exchanges=("mexc", "kucoin", "binance"),
        exchange_urls={"mexc": "http://127.0.0.1:9101", "kucoin": "http://example.test:443"},
        sim_ports={"mexc": 9101, "kucoin": 9102},
        gateway_host="127.0.0.1",
        gateway_port=8080,
        jwt_secret="jwt-secret-value",
        runner_replicas=2,
    )
    values.update(overrides)
    return Wiring(**values)  # type: ignore[arg-type]


def test_plan_orders_processes_and_gives_vault_credentials_only_to_gateway_and_connectors() -> None:
    specs = {spec.name: spec for spec in plan(["gateway", "runner", "tester", "alerter", "connector", "sim"], wiring())}

    assert list(specs) == [
        "sim", "connector-mexc", "connector-kucoin", "connector-binance",
        "tester", "alerter", "runner-1", "runner-2", "gateway",
    ]  # fmt: skip
    for name, spec in specs.items():
        has_vault = "BACKFUTURE_VAULT_SECRET_ID" in spec.env
        assert has_vault == (name == "gateway" or name.startswith("connector-")), name
        assert spec.env["BACKFUTURE_NATS_URL"] == "nats://127.0.0.1:4222"
        assert spec.env["BACKFUTURE_INSTANCE_ID"] == name
    assert specs["connector-mexc"].env["BACKFUTURE_VAULT_SECRET_ID"] == "secret-connector"
    assert specs["gateway"].env["BACKFUTURE_VAULT_ROLE_ID"] == "role-gateway"
    assert "BACKFUTURE_JWT_SECRET" not in specs["tester"].env
    assert specs["gateway"].health_url == "http://127.0.0.1:8080/healthz"
    assert specs["tester"].health_url is not None and specs["tester"].env["BACKFUTURE_OPS_PORT"] in specs["tester"].health_url


def test_connectors_use_the_simulator_unthrottled_and_a_user_origin_as_given() -> None:
    specs = {spec.name: spec for spec in plan(["connector", "sim"], wiring())}

    mexc, kucoin, binance = specs["connector-mexc"], specs["connector-kucoin"], specs["connector-binance"]
    assert mexc.argv[-2:] == ("--exchange", "mexc")
    assert mexc.env["BACKFUTURE_EXCHANGE_URL_MEXC"] == "http://127.0.0.1:9101"
    assert mexc.env["BACKFUTURE_ENABLE_RATE_LIMIT"] == "false"
    # A user-provided origin (not the simulator) keeps ccxt's rate limiter on.
    assert kucoin.env["BACKFUTURE_EXCHANGE_URL_KUCOIN"] == "http://example.test:443"
    assert "BACKFUTURE_ENABLE_RATE_LIMIT" not in kucoin.env
    # No override and no simulator: the connector's own default (the real exchange).
    assert not any(k.startswith("BACKFUTURE_EXCHANGE_URL_") for k in binance.env)
    assert specs["sim"].argv[-6:] == ("--host", "127.0.0.1", "--mexc-port", "9101", "--kucoin-port", "9102")
    assert specs["sim"].tcp_ports == (9101, 9102)


def test_per_service_env_overrides_apply_to_that_service_only() -> None:
    specs = {
        s.name: s
        for s in plan(["tester", "alerter"], wiring(service_env={"alerter": {"BACKFUTURE_ALLOW_PRIVATE_WEBHOOKS": "true"}}))
    }
    assert specs["alerter"].env["BACKFUTURE_ALLOW_PRIVATE_WEBHOOKS"] == "true"
    assert "BACKFUTURE_ALLOW_PRIVATE_WEBHOOKS" not in specs["tester"].env


def test_stack_signal_reaches_the_process(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(services=["sim"])
    pid = stack.child("sim").pid
    stack.signal("sim", signal.SIGTERM)
    assert pid is not None and wait_gone(pid)
    assert not stack.child("sim").running
