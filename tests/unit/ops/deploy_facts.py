"""What the deployment files must agree with: the services that exist and their settings."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from bf_shared.exchanges import EXCHANGES
from bf_shared.settings import ServiceSettings, VaultSettings

ROOT = Path(__file__).resolve().parents[3]

#: services/<dir> -> (python package, image name). The image name is also the Dockerfile's.
SERVICES: dict[str, tuple[str, str]] = {
    "gateway": ("bf_gateway", "gateway"),
    "tester": ("bf_tester", "tester"),
    "connector": ("bf_connector", "connector"),
    "strategy-runner": ("bf_runner", "runner"),
    "alerter": ("bf_alerter", "alerter"),
    "exchange-sim": ("bf_sim", "sim"),
}
#: Services that log in to Vault.
VAULT_CLIENTS = {"gateway", "connector"}
#: Never deployed to production (DESIGN.md): in compose, not in Kubernetes.
DEV_ONLY = {"exchange-sim"}
#: Read by the container healthcheck helper, not by a service.
HEALTHCHECK_ENV = {"BACKFUTURE_HEALTH_URL"}


def service_dirs() -> list[str]:
    """Every ``services/*`` directory (a new one must be added to :data:`SERVICES`)."""
    return sorted(p.name for p in (ROOT / "services").iterdir() if p.is_dir() and not p.name.startswith("."))


def has_main(service: str) -> bool:
    package = SERVICES[service][0]
    return (ROOT / "services" / service / package / "__main__.py").is_file()


def runnable_services() -> list[str]:
    """Services with a ``__main__`` (what the launcher, compose and Kubernetes must run)."""
    return [s for s in service_dirs() if has_main(s)]


def _settings_classes(package: str) -> list[type[BaseSettings]]:
    found: list[type[BaseSettings]] = []
    for module_name in (f"{package}.settings", f"{package}.bootstrap", f"{package}.config", f"{package}.notifications.bus"):
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:  # the parent package does not exist in this service
            continue
        module = importlib.import_module(module_name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, ServiceSettings) and obj is not ServiceSettings and obj.__module__ == module_name:
                found.append(obj)
    return found


def _env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {(prefix + name).upper() for name in cls.model_fields}


def settings_env(service: str) -> set[str]:
    """Every ``BACKFUTURE_*`` variable the service reads."""
    package = SERVICES[service][0]
    if service == "exchange-sim":  # argparse with environment fallbacks
        source = (ROOT / "services" / service / package / "__main__.py").read_text()
        return set(re.findall(r"\"(BACKFUTURE_[A-Z0-9_]+)\"", source))
    classes = _settings_classes(package)
    if not classes:
        raise AssertionError(f"{service}: no ServiceSettings subclass found in {package}.settings/bootstrap")
    names = set().union(*(_env_names(c) for c in classes))
    if service in VAULT_CLIENTS:
        names |= _env_names(VaultSettings)
    if service == "connector":
        names |= {f"BACKFUTURE_EXCHANGE_URL_{ex.upper()}" for ex in EXCHANGES}
    return names


def dockerfile_facts(path: Path) -> dict[str, Any]:
    text = path.read_text()
    lines = [ln.strip() for ln in re.sub(r"\\\n", " ", text).splitlines() if ln.strip() and not ln.strip().startswith("#")]
    env: dict[str, str] = {}
    for ln in lines:
        if ln.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", ln[4:])))
    return {
        "froms": [ln for ln in lines if ln.startswith("FROM ")],
        "user": next((ln.split()[1] for ln in reversed(lines) if ln.startswith("USER ")), None),
        "healthcheck": next((ln for ln in lines if ln.startswith("HEALTHCHECK ")), None),
        "entrypoint": next((ln for ln in reversed(lines) if ln.startswith("ENTRYPOINT ")), None),
        "env": env,
        "text": text,
    }


def runs_module(facts: dict[str, Any], module: str) -> bool:
    if facts["entrypoint"] == f'ENTRYPOINT ["python", "-m", "{module}"]':
        return True
    # Vault clients start through the credentials loader, which execs `python -m $BF_MODULE`.
    return facts["entrypoint"] == 'ENTRYPOINT ["/usr/local/bin/bf-entrypoint"]' and facts["env"].get("BF_MODULE") == module
