"""Exchange credentials in Vault (OpenBao), behind two small ports.

* :class:`SecretWriter` — the gateway: create/update a connection's credentials (a new KV v2
  version each time), destroy every version, and fingerprint an API key with transit HMAC.
  Its policy has no ``read`` on the secrets: it can never read them back.
* :class:`SecretReader` — the connector, the only reader.

Layout: KV v2 ``<kv_mount>/data/connections/<connection_id>`` holding ``api_key``,
``secret`` and optionally ``passphrase``. hvac is synchronous, so calls run in a worker
thread. Each adapter logs in with its own AppRole (or, in Kubernetes, its service-account
token) and logs in again when its token expires.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import hvac
import hvac.exceptions
import requests

from pydantic import BaseModel, ConfigDict, SecretStr

from bf_shared.logs import register_secret
from bf_shared.settings import VaultSettings

T = TypeVar("T")


class Credentials(BaseModel):
    """An exchange API key with its secret (and KuCoin passphrase). Never serialised to the bus."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    secret: SecretStr
    passphrase: SecretStr | None = None
    # The Vault (KV v2) version these values were read from; None when not read from Vault.
    # Lets the connector tell which tested key version it is about to use.
    version: int | None = None

    def register(self) -> None:
        """Register every value with the log redactor."""
        register_secret(self.api_key.get_secret_value())
        register_secret(self.secret.get_secret_value())
        if self.passphrase is not None:
            register_secret(self.passphrase.get_secret_value())


class VaultError(Exception):
    """Base of Vault failures. Messages never contain secret material."""


class SecretNotFound(VaultError):
    """No live version of the connection's credentials (deleted or never written)."""


class VaultForbidden(VaultError):
    """This service's policy does not allow the operation."""


class VaultUnavailable(VaultError):
    """Vault is sealed, down or timing out; the caller may retry."""


class SecretWriter(Protocol):
    async def put(self, connection_id: str, credentials: Credentials) -> int:
        """Store a new version; returns its version number."""
        ...

    async def destroy(self, connection_id: str) -> None:
        """Destroy every version and the metadata. Idempotent."""
        ...

    async def destroy_versions_before(self, connection_id: str, version: int) -> None:
        """Destroy versions ``1 .. version-1`` (the keys a rotation replaced). Idempotent."""
        ...

    async def fingerprint(self, api_key: str) -> str:
        """A keyed HMAC of the API key (Vault transit): equal keys give equal fingerprints."""
        ...


class SecretReader(Protocol):
    async def read(self, connection_id: str, version: int | None = None) -> Credentials:
        """The credentials (latest version unless ``version``)."""
        ...


def _path(connection_id: str) -> str:
    if not connection_id or not all(c.isalnum() or c in "-_" for c in connection_id):
        raise ValueError("invalid connection id")
    return f"connections/{connection_id}"


class HvacVault:
    """hvac adapter for both ports; what it may do is decided by the AppRole's policy."""

    def __init__(self, settings: VaultSettings) -> None:
        self._settings = settings
        self._client = hvac.Client(url=settings.addr, timeout=settings.timeout_s)
        self._lock = threading.Lock()

    def _login(self) -> None:
        s = self._settings
        if s.auth_method == "kubernetes":
            # Read on every login: the kubelet rotates the projected token.
            with open(s.k8s_token_path, encoding="ascii") as f:
                jwt = f.read().strip()
            register_secret(jwt)
            result = self._client.auth.kubernetes.login(role=s.k8s_role, jwt=jwt, mount_point=s.k8s_mount)
        else:
            result = self._client.auth.approle.login(
                role_id=s.role_id,
                secret_id=s.secret_id.get_secret_value(),
            )
        register_secret(result["auth"]["client_token"])

    def _call(self, fn: Callable[[], T]) -> T:
        with self._lock:
            for attempt in (1, 2):
                try:
                    if not self._client.token:
                        self._login()
                    return fn()
                except hvac.exceptions.Forbidden as e:
                    # An expired token answers 403 too: log in again once, then give up.
                    if attempt == 1:
                        self._client.token = None
                        continue
                    raise VaultForbidden("vault denied the operation (policy)") from None
                except hvac.exceptions.InvalidPath:
                    raise SecretNotFound("no credentials stored for this connection") from None
                except (hvac.exceptions.VaultDown, hvac.exceptions.InternalServerError) as e:
                    raise VaultUnavailable(f"vault unavailable: {type(e).__name__}") from None
                except requests.RequestException as e:
                    raise VaultUnavailable(f"vault unreachable: {type(e).__name__}") from None
            raise AssertionError("unreachable")

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(self._call, fn)

    async def login(self) -> None:
        """Log in now (fails fast at start-up if the AppRole is wrong)."""
        await self._run(lambda: None)

    async def put(self, connection_id: str, credentials: Credentials) -> int:
        data: dict[str, str] = {
            "api_key": credentials.api_key.get_secret_value(),
            "secret": credentials.secret.get_secret_value(),
        }
        if credentials.passphrase is not None:
            data["passphrase"] = credentials.passphrase.get_secret_value()
        path = _path(connection_id)
        result: dict[str, Any] = await self._run(
            lambda: self._client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=data, mount_point=self._settings.kv_mount
            )
        )
        return int(result["data"]["version"])

    async def destroy(self, connection_id: str) -> None:
        path = _path(connection_id)

        def delete() -> None:
            try:
                self._client.secrets.kv.v2.delete_metadata_and_all_versions(
                    path=path, mount_point=self._settings.kv_mount
                )
            except hvac.exceptions.InvalidPath:
                return

        await self._run(delete)

    async def destroy_versions_before(self, connection_id: str, version: int) -> None:
        path = _path(connection_id)
        old = list(range(1, version))
        if not old:
            return
        await self._run(
            lambda: self._client.secrets.kv.v2.destroy_secret_versions(
                path=path, versions=old, mount_point=self._settings.kv_mount
            )
        )

    async def fingerprint(self, api_key: str) -> str:
        encoded = base64.b64encode(api_key.encode()).decode()
        result: dict[str, Any] = await self._run(
            lambda: self._client.secrets.transit.generate_hmac(
                name=self._settings.fingerprint_key,
                hash_input=encoded,
                algorithm="sha2-256",
                mount_point=self._settings.transit_mount,
            )
        )
        # "vault:v1:<base64>" -> url-safe, KV-key-safe hex digest of the HMAC.
        return hashlib.sha256(result["data"]["hmac"].encode()).hexdigest()[:32]

    async def read(self, connection_id: str, version: int | None = None) -> Credentials:
        path = _path(connection_id)
        result: dict[str, Any] = await self._run(
            lambda: self._client.secrets.kv.v2.read_secret_version(
                path=path,
                version=version,
                mount_point=self._settings.kv_mount,
                raise_on_deleted_version=True,
            )
        )
        data = result["data"]["data"]
        if not data:
            raise SecretNotFound("no credentials stored for this connection")
        metadata = result["data"].get("metadata") or {}
        credentials = Credentials(
            api_key=SecretStr(data["api_key"]),
            secret=SecretStr(data["secret"]),
            passphrase=SecretStr(data["passphrase"]) if data.get("passphrase") else None,
            version=int(metadata["version"]) if metadata.get("version") is not None else None,
        )
        credentials.register()
        return credentials


class FakeVault:
    """In-memory implementation of both ports for unit tests (same semantics as Vault)."""

    def __init__(self, hmac_key: bytes = b"fake-transit-key", *, can_read: bool = True) -> None:
        self.versions: dict[str, list[Credentials | None]] = {}
        self._hmac_key = hmac_key
        self.can_read = can_read
        self.available = True

    def _check(self) -> None:
        if not self.available:
            raise VaultUnavailable("vault unavailable: fake is down")

    async def put(self, connection_id: str, credentials: Credentials) -> int:
        self._check()
        versions = self.versions.setdefault(_path(connection_id), [])
        versions.append(credentials)
        return len(versions)

    async def destroy(self, connection_id: str) -> None:
        self._check()
        self.versions.pop(_path(connection_id), None)

    async def destroy_versions_before(self, connection_id: str, version: int) -> None:
        self._check()
        versions = self.versions.get(_path(connection_id), [])
        for index in range(min(version - 1, len(versions))):
            versions[index] = None

    async def fingerprint(self, api_key: str) -> str:
        self._check()
        digest = hmac.new(self._hmac_key, api_key.encode(), hashlib.sha256).hexdigest()
        return hashlib.sha256(digest.encode()).hexdigest()[:32]

    async def read(self, connection_id: str, version: int | None = None) -> Credentials:
        self._check()
        if not self.can_read:
            raise VaultForbidden("vault denied the operation (policy)")
        versions = self.versions.get(_path(connection_id))
        if not versions:
            raise SecretNotFound("no credentials stored for this connection")
        number = len(versions) if version is None else version
        chosen = versions[number - 1] if 0 < number <= len(versions) else None
        if chosen is None:
            raise SecretNotFound("no credentials stored for this connection")
        return chosen.model_copy(update={"version": number})
