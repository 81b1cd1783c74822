"""Settings of ``python -m bf_launch up`` (environment, prefix ``BACKFUTURE_``).

Fixed ports are defaults that a user can move, so two systems can run side by side from one
checkout (different ``BACKFUTURE_STATE_DIR`` and ports). The services' own ops ports are
picked free at every start; the banner and ``<state_dir>/logs`` say where everything is.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def checkout_root() -> Path:
    """The repository checkout this launcher belongs to (the directory with pyproject.toml)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "deploy").is_dir():
            return parent
    return Path.cwd()


class LaunchSettings(BaseSettings):
    """Everything the local launcher can be told."""

    model_config = SettingsConfigDict(env_prefix="BACKFUTURE_", extra="ignore", frozen=True)

    state_dir: Path = Field(default_factory=lambda: checkout_root() / ".state", description="All server data and logs")
    nats_port: int = Field(default=4222, description="NATS client port")
    nats_monitor_port: int = Field(default=8222, description="NATS HTTP monitoring port")
    vault_port: int = Field(default=8200, description="OpenBao API port")
    vault_cluster_port: int = Field(default=8201, description="OpenBao raft cluster port")
    sim_mexc_port: int = Field(default=9101, description="Exchange simulator: MEXC origin port")
    sim_kucoin_port: int = Field(default=9102, description="Exchange simulator: KuCoin origin port")
    gateway_host: str = Field(default="127.0.0.1", description="Gateway bind address")
    gateway_port: int = Field(default=8080, description="Gateway HTTP port (dashboard and API)")
    launch_services: str = Field(
        default="all", description='Services to start: "all", "none" (servers only) or a comma list, e.g. "sim,connector"'
    )
    runner_replicas: int = Field(default=2, ge=1, description="Strategy runner processes sharing the work")
    log_level: str = Field(default="INFO", description="Log level of every service")
    egress_ips: str = Field(default="127.0.0.1", description="Platform IPs users whitelist (comma list)")
    jwt_secret: SecretStr | None = Field(default=None, description="Gateway JWT key (default: generated, in the state dir)")
    demo_email: str = Field(default="demo@backfuture.dev", description="Demo user registered at start")
    demo_password: SecretStr | None = Field(default=None, description="Demo password (default: generated, in the state dir)")
    ready_timeout_s: float = Field(default=90.0, description="How long one process may take to become healthy")

    def selected_services(self, known: tuple[str, ...]) -> tuple[str, ...]:
        """The services named by ``launch_services``, in ``known``'s order."""
        value = self.launch_services.strip().lower()
        if value == "all":
            return known
        if value in ("none", ""):
            return ()
        names = {n.strip() for n in value.split(",") if n.strip()}
        unknown = names - set(known)
        if unknown:
            raise ValueError(f"BACKFUTURE_LAUNCH_SERVICES: unknown {sorted(unknown)}; known: {', '.join(known)}")
        return tuple(n for n in known if n in names)

    def sim_port(self, exchange: str) -> int:
        """The simulator port configured for ``exchange``."""
        return int(getattr(self, f"sim_{exchange}_port"))
