"""``bf_launch vault-init`` (the containers' bootstrap job) against an uninitialised OpenBao."""

from __future__ import annotations

import stat
from pathlib import Path

import hvac

from bf_launch.procs import free_port
from bf_launch.vault import OpenBaoServer, wait_until_active
from bf_launch.vault_init import creds_file, run_vault_init


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def login(values: dict[str, str]) -> hvac.Client:
    client = hvac.Client(url=values["BACKFUTURE_VAULT_ADDR"], timeout=5)
    client.auth.approle.login(role_id=values["BACKFUTURE_VAULT_ROLE_ID"], secret_id=values["BACKFUTURE_VAULT_SECRET_ID"])
    return client


def test_vault_init_initialises_once_and_hands_out_working_credentials(tmp_path: Path) -> None:
    # A persistent-mode server started without the launcher's own initialisation, as in compose.
    server = OpenBaoServer.persistent(tmp_path / "openbao", tmp_path / "logs", port=free_port(), cluster_port=free_port())
    server.child.start()
    try:
        state, creds = tmp_path / "bootstrap-state", tmp_path / "creds"
        assert run_vault_init(server.addr, state, creds, None, 30) == 0
        wait_until_active(server.addr, 10)
        gateway_file, connector_file = creds_file(creds, "gateway"), creds_file(creds, "connector")
        assert stat.S_IMODE((state / "init.json").stat().st_mode) == 0o600
        assert stat.S_IMODE(gateway_file.stat().st_mode) == 0o600
        assert not creds_file(creds, "tester").exists()  # no Vault access, no credentials

        gateway, connector = env_file(gateway_file), env_file(connector_file)
        login(gateway).secrets.kv.v2.create_or_update_secret(
            path="connections/init-1", secret={"api_key": "init-key-01"}, mount_point="secret"
        )
        read = login(connector).secrets.kv.v2.read_secret_version(
            path="connections/init-1", mount_point="secret", raise_on_deleted_version=True
        )
        assert read["data"]["data"] == {"api_key": "init-key-01"}

        # Running the job again (every `docker compose up`) keeps what running services hold.
        before = gateway_file.read_bytes()
        assert run_vault_init(server.addr, state, creds, None, 30) == 0
        assert gateway_file.read_bytes() == before
        assert login(env_file(gateway_file)).is_authenticated()
    finally:
        server.stop()
