"""deploy/k8s rendered offline and validated: schemas, services, probes, HA, Vault and network rules."""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

import kubernetes_validate
import pytest

from bf_shared.exchanges import EXCHANGES

from .deploy_facts import DEV_ONLY, ROOT, SERVICES, VAULT_CLIENTS, dockerfile_facts, runnable_services, runs_module, settings_env
from .k8s_render import UnsupportedKustomization, render

K8S = ROOT / "deploy" / "k8s"
DOCS = render(K8S)
#: The oldest Kubernetes we support and the newest schema the validator ships.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in DOCS if d["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in by_kind(kind) if d["metadata"]["name"] == name]
    return doc


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


DEPLOYMENTS = by_kind("Deployment")


def deployments_of(service: str) -> list[dict[str, Any]]:
    image = f"backfuture/{SERVICES[service][1]}:"
    return [d for d in DEPLOYMENTS if pod_spec(d)["containers"][0]["image"].startswith(image)]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_object_is_valid_for_kubernetes(version: str) -> None:
    assert len(DOCS) > 30
    for doc in DOCS:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_does_reject_a_broken_manifest() -> None:
    broken = copy.deepcopy(DEPLOYMENTS[0])
    pod_spec(broken)["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


def test_the_renderer_refuses_kustomize_features_it_does_not_implement(tmp_path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches: []\n")
    with pytest.raises(UnsupportedKustomization):
        render(tmp_path)


def test_every_runnable_service_has_a_deployment_running_its_image() -> None:
    for service in runnable_services():
        if service in DEV_ONLY:
            assert deployments_of(service) == [], f"{service} must never be deployed to Kubernetes"
            continue
        assert deployments_of(service), f"{service} has a __main__ but no Deployment in deploy/k8s"
        facts = dockerfile_facts(ROOT / "deploy" / "docker" / f"{SERVICES[service][1]}.Dockerfile")
        assert runs_module(facts, SERVICES[service][0])


def test_one_connector_deployment_per_catalogue_exchange_with_an_hpa() -> None:
    connectors = {d["metadata"]["name"]: d for d in deployments_of("connector")}
    assert set(connectors) == {f"connector-{ex}" for ex in EXCHANGES}
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind("HorizontalPodAutoscaler")}
    for name, doc in connectors.items():
        assert pod_spec(doc)["containers"][0]["args"] == ["--exchange", name.removeprefix("connector-")]
        assert name in hpas
    assert "strategy-runner" in hpas


def test_every_workload_has_probes_resources_a_pdb_and_runs_unprivileged() -> None:
    pdbs = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] for p in by_kind("PodDisruptionBudget")}
    for doc in DEPLOYMENTS + by_kind("StatefulSet"):
        name = doc["metadata"]["name"]
        assert doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] in pdbs, f"{name}: no PDB"
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in spec["containers"]:
            assert {"readinessProbe", "livenessProbe"} <= set(c), f"{name}: probes"
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and "memory" in c["resources"]["limits"]
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for doc in DEPLOYMENTS:
        c = pod_spec(doc)["containers"][0]
        # Readiness follows /healthz (connected); liveness must not restart pods during a NATS outage.
        assert c["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/metrics"


def test_nats_is_a_three_node_jetstream_cluster_and_services_use_r3_streams() -> None:
    nats = named("StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3
    conf = named("ConfigMap", "nats-config")["data"]["nats.conf"]
    assert "jetstream" in conf and len(re.findall(r"nats://nats-\d\.nats-headless:6222", conf)) == 3
    for doc in DEPLOYMENTS:
        env = env_of(pod_spec(doc)["containers"][0])
        assert env["BACKFUTURE_STREAM_REPLICAS"] == "3" and env["BACKFUTURE_NATS_URL"] == "nats://nats:4222"


def test_only_vault_clients_get_kubernetes_auth_and_a_service_account_token() -> None:
    script = named("ConfigMap", "openbao-configure-script")["data"]["configure.sh"]
    assert "for service in gateway connector; do" in script  # the only Kubernetes auth roles
    for service in runnable_services():
        for doc in deployments_of(service):
            spec = pod_spec(doc)
            env = env_of(spec["containers"][0])
            vault_vars = {k for k in env if k.startswith("BACKFUTURE_VAULT_")}
            if service in VAULT_CLIENTS:
                assert env["BACKFUTURE_VAULT_AUTH_METHOD"] == "kubernetes"
                assert env["BACKFUTURE_VAULT_K8S_ROLE"] == f"bf-{service}"
                assert spec["serviceAccountName"] == service and spec["automountServiceAccountToken"] is True
                assert "BACKFUTURE_VAULT_SECRET_ID" not in env  # no AppRole secret in Kubernetes
            else:
                assert vault_vars == set() and spec["automountServiceAccountToken"] is False


def test_kubernetes_policies_are_the_launchers_policies() -> None:
    data = named("ConfigMap", "openbao-policies")["data"]
    launcher = {p.name: p.read_text() for p in (ROOT / "deploy" / "vault" / "policies").glob("*.hcl")}
    assert data == launcher


def test_environment_variables_are_ones_the_service_reads() -> None:
    for service in runnable_services():
        for doc in deployments_of(service):
            names = set(env_of(pod_spec(doc)["containers"][0]))
            unknown = {n for n in names if n.startswith("BACKFUTURE_")} - settings_env(service)
            assert unknown == set(), f"{doc['metadata']['name']}: {sorted(unknown)} are not settings of {service}"


# ------------------------------------------------------------------ network policies


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        if expr["operator"] == "In" and not (present and labels[expr["key"]] in expr["values"]):
            return False
        if expr["operator"] == "NotIn" and present and labels[expr["key"]] in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
    return True


WORKLOAD_LABELS = {
    d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in DEPLOYMENTS + by_kind("StatefulSet") + by_kind("Job")
}
POLICIES = by_kind("NetworkPolicy")


def egress_rules(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [r for p in POLICIES if _selects(p["spec"]["podSelector"], labels) for r in p["spec"].get("egress", [])]


def internet_ports(labels: dict[str, str]) -> set[int]:
    """Ports on which the pod may reach a public address (a Google DNS IP stands for the internet)."""
    probe = ipaddress.ip_address("8.8.8.8")
    ports: set[int] = set()
    for rule in egress_rules(labels):
        for peer in rule.get("to", [{}]) or [{}]:
            block = peer.get("ipBlock")
            if block is None:
                continue
            if probe in ipaddress.ip_network(block["cidr"]) and not any(
                probe in ipaddress.ip_network(e) for e in block.get("except", [])
            ):
                ports |= {p["port"] for p in rule.get("ports", [])} or {0}
    return ports


def test_everything_is_denied_unless_allowed() -> None:
    deny = named("NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    for policy in POLICIES:
        for rule in policy["spec"].get("egress", []) + policy["spec"].get("ingress", []):
            assert rule.get("to", rule.get("from")), f"{policy['metadata']['name']}: a rule without peers allows everything"


def test_only_connectors_reach_the_internet_and_the_alerter_only_https() -> None:
    reach = {name: internet_ports(labels) for name, labels in WORKLOAD_LABELS.items()}
    assert {n for n, ports in reach.items() if ports} == {"alerter", *(f"connector-{ex}" for ex in EXCHANGES)}
    assert reach["alerter"] == {443}


def test_only_gateway_and_connectors_reach_openbao() -> None:
    ingress = named("NetworkPolicy", "openbao")["spec"]["ingress"]
    api_rule = next(r for r in ingress if {p["port"] for p in r["ports"]} == {8200})
    allowed = {n for n, labels in WORKLOAD_LABELS.items() if any(_selects(f["podSelector"], labels) for f in api_rule["from"])}
    assert allowed == {"gateway", "openbao", "openbao-configure", *(f"connector-{ex}" for ex in EXCHANGES)}
