"""Configure an OpenBao/Vault server for BackFuture (idempotent; dev, persistent and compose).

* KV v2 at ``secret`` (exchange credentials at ``connections/<connection_id>``);
* transit at ``transit`` with the HMAC key ``api-key-fingerprint``;
* AppRole auth, one policy and one role per service, policies read from
  ``deploy/vault/policies/<service>.hcl``;
* returns each service's ``role_id`` and a freshly generated ``secret_id``.

Roles issue renewable service tokens for 1 h (at most 24 h); a service logs in again with
its secret_id when its token expires (``bf_shared.vault.HvacVault`` does). secret_ids do not
expire on their own: the launcher rotates them at every start (``rotate_secret_ids=True``
destroys the previous ones), so only the running system's credentials are valid.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import hvac
import hvac.exceptions

from pydantic import SecretStr

from bf_shared.logs import register_secret
from bf_shared.settings import VaultSettings

#: Services that get a policy and an AppRole (``bf-<service>``).
SERVICES: tuple[str, ...] = ("gateway", "connector", "tester", "runner", "alerter")
#: Services whose processes receive Vault credentials (the others have no secret access).
VAULT_CLIENTS: tuple[str, ...] = ("gateway", "connector")

KV_MOUNT = "secret"
TRANSIT_MOUNT = "transit"
FINGERPRINT_KEY = "api-key-fingerprint"


def role_name(service: str) -> str:
    """The policy and AppRole name of ``service``."""
    return f"bf-{service}"


def default_policy_dir() -> Path:
    """``BACKFUTURE_VAULT_POLICY_DIR`` or ``deploy/vault/policies`` of this checkout."""
    forced = os.environ.get("BACKFUTURE_VAULT_POLICY_DIR")
    if forced:
        return Path(forced)
    return Path(__file__).resolve().parent.parent / "vault" / "policies"


@dataclass(frozen=True)
class AppRoleCreds:
    """One service's AppRole login. ``secret_id`` is excluded from ``repr``."""

    role_id: str
    secret_id: str = field(repr=False)


@dataclass(frozen=True)
class VaultAccess:
    """A bootstrapped server: address, root token (tests/launcher only) and per-service creds."""

    addr: str
    root_token: str = field(repr=False)
    approles: Mapping[str, AppRoleCreds]

    def service_env(self, service: str) -> dict[str, str]:
        """The ``BACKFUTURE_VAULT_*`` variables for ``service``'s process."""
        creds = self.approles[service]
        return {
            "BACKFUTURE_VAULT_ADDR": self.addr,
            "BACKFUTURE_VAULT_ROLE_ID": creds.role_id,
            "BACKFUTURE_VAULT_SECRET_ID": creds.secret_id,
        }

    def settings(self, service: str) -> VaultSettings:
        """``VaultSettings`` logging in as ``service`` (for ``bf_shared.vault.HvacVault``)."""
        creds = self.approles[service]
        return VaultSettings(addr=self.addr, role_id=creds.role_id, secret_id=SecretStr(creds.secret_id))

    def client(self) -> hvac.Client:
        """An hvac client with the root token."""
        return hvac.Client(url=self.addr, token=self.root_token, timeout=10)


def _ensure_mounts(client: hvac.Client) -> None:
    engines = client.sys.list_mounted_secrets_engines()["data"]
    kv = engines.get(f"{KV_MOUNT}/")
    if kv is None:
        client.sys.enable_secrets_engine("kv", path=KV_MOUNT, options={"version": "2"})
    elif kv.get("type") != "kv" or (kv.get("options") or {}).get("version") != "2":
        raise RuntimeError(f"mount {KV_MOUNT}/ exists but is not KV version 2")
    if f"{TRANSIT_MOUNT}/" not in engines:
        client.sys.enable_secrets_engine("transit", path=TRANSIT_MOUNT)
    try:
        client.secrets.transit.read_key(name=FINGERPRINT_KEY, mount_point=TRANSIT_MOUNT)
    except hvac.exceptions.InvalidPath:
        client.secrets.transit.create_key(name=FINGERPRINT_KEY, key_type="aes256-gcm96", mount_point=TRANSIT_MOUNT)
    if "approle/" not in client.sys.list_auth_methods()["data"]:
        client.sys.enable_auth_method("approle")


def _destroy_secret_ids(client: hvac.Client, role: str) -> None:
    try:
        accessors = client.auth.approle.list_secret_id_accessors(role)["data"]["keys"]
    except hvac.exceptions.InvalidPath:  # no secret_id yet
        return
    for accessor in accessors:
        client.auth.approle.destroy_secret_id_accessor(role, accessor)


def bootstrap(
    addr: str,
    root_token: str,
    *,
    policy_dir: Path | None = None,
    rotate_secret_ids: bool = False,
    mint: Collection[str] | None = None,
    token_ttl: str = "1h",
    token_max_ttl: str = "24h",
) -> VaultAccess:
    """Bring the server to the layout above and mint one secret_id per service.

    ``mint`` limits which services get a new secret_id (default: all); the others are left
    out of the result. ``rotate_secret_ids`` first destroys the minted roles' old ones.
    """
    client = hvac.Client(url=addr, token=root_token, timeout=30)
    policy_dir = policy_dir or default_policy_dir()
    _ensure_mounts(client)
    approles: dict[str, AppRoleCreds] = {}
    for service in SERVICES:
        name = role_name(service)
        policy = (policy_dir / f"{service}.hcl").read_text()
        client.sys.create_or_update_policy(name=name, policy=policy)
        client.auth.approle.create_or_update_approle(
            role_name=name,
            token_policies=[name],
            token_type="service",
            token_ttl=token_ttl,
            token_max_ttl=token_max_ttl,
            secret_id_ttl="0",
            secret_id_num_uses=0,
        )
        if mint is not None and service not in mint:
            continue
        if rotate_secret_ids:
            _destroy_secret_ids(client, name)
        role_id = str(client.auth.approle.read_role_id(name)["data"]["role_id"])
        secret_id = str(client.auth.approle.generate_secret_id(name)["data"]["secret_id"])
        register_secret(secret_id)
        approles[service] = AppRoleCreds(role_id=role_id, secret_id=secret_id)
    return VaultAccess(addr=addr, root_token=root_token, approles=approles)
