"""Settings shared by every service (pydantic-settings, prefix ``BACKFUTURE_``).

Each service subclasses :class:`ServiceSettings` with its own fields; anything secret is a
``SecretStr``. Exchange REST origins can be redirected per exchange with
``BACKFUTURE_EXCHANGE_URL_<EXCHANGE>`` (see :func:`exchange_url_override`).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Fields every service has."""

    model_config = SettingsConfigDict(env_prefix="BACKFUTURE_", extra="ignore", frozen=True)

    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server URL(s), comma separated")
    log_level: str = Field("INFO", description="Python logging level")
    log_json: bool = Field(True, description="One JSON object per log line")
    ops_host: str = Field("127.0.0.1", description="Bind address of /healthz and /metrics")
    ops_port: int = Field(0, description="Port of /healthz and /metrics (0 = a free port)")
    stream_replicas: int = Field(1, description="JetStream replicas for streams and KV buckets")


class VaultSettings(BaseSettings):
    """How a service reaches Vault (OpenBao): its own AppRole, or in Kubernetes its
    service account (``auth_method="kubernetes"``: the pod's projected token is exchanged
    for a Vault token bound to ``k8s_role``; no secret_id to distribute)."""

    model_config = SettingsConfigDict(env_prefix="BACKFUTURE_VAULT_", extra="ignore", frozen=True)

    addr: str = Field("http://127.0.0.1:8200", description="Vault/OpenBao API address")
    auth_method: Literal["approle", "kubernetes"] = Field("approle", description="How this service logs in")
    k8s_role: str = Field("", description="Vault role bound to this service's Kubernetes service account")
    k8s_mount: str = Field("kubernetes", description="Mount path of the Kubernetes auth method")
    k8s_token_path: str = Field(
        "/var/run/secrets/kubernetes.io/serviceaccount/token", description="Service-account token file"
    )
    role_id: str = Field("", description="AppRole role_id of this service")
    secret_id: SecretStr = Field(SecretStr(""), description="AppRole secret_id of this service")
    kv_mount: str = Field("secret", description="KV v2 mount holding exchange credentials")
    transit_mount: str = Field("transit", description="Transit mount for key fingerprints")
    fingerprint_key: str = Field("api-key-fingerprint", description="Transit key for HMAC")
    timeout_s: float = Field(5.0, description="HTTP timeout of one Vault call")


def exchange_url_override(exchange: str) -> str | None:
    """The origin set by ``BACKFUTURE_EXCHANGE_URL_<EXCHANGE>``, if any (no trailing slash)."""
    value = os.environ.get(f"BACKFUTURE_EXCHANGE_URL_{exchange.upper()}", "").strip()
    return value.rstrip("/") or None


def egress_ips_from(value: str) -> tuple[str, ...]:
    """Parse the comma-separated egress IP setting."""
    return tuple(ip.strip() for ip in value.split(",") if ip.strip())
