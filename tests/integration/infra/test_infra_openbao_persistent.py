"""Persistent OpenBao (raft + static auto-unseal) and ``vault-init``, the containers' bootstrap.

One scenario per server directory, because each OpenBao initialisation costs seconds.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import hvac
import pytest

from bf_launch.procs import StartupError, free_port
from bf_launch.vault import OpenBaoServer
from bf_launch.vault_bootstrap import bootstrap
from bf_launch.vault_init import creds_file, run_vault_init


def persistent(home: Path, logs: Path) -> OpenBaoServer:
    return OpenBaoServer.persistent(home, logs, port=free_port(), cluster_port=free_port())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def login(values: dict[str, str], addr: str) -> hvac.Client:
    client = hvac.Client(url=addr, timeout=5)
    client.auth.approle.login(role_id=values["BACKFUTURE_VAULT_ROLE_ID"], secret_id=values["BACKFUTURE_VAULT_SECRET_ID"])
    return client


def test_vault_init_then_restart_auto_unseals_keeps_secrets_and_refuses_a_lost_root_token(tmp_path: Path) -> None:
    home, logs, creds = tmp_path / "openbao", tmp_path / "logs", tmp_path / "creds"

    # 1. An uninitialised server, as docker-compose starts it; the init job does the rest.
    first = persistent(home, logs)
    first.child.start()
    try:
        assert run_vault_init(first.addr, home, creds, None, 30) == 0
        gateway_file, connector_file = creds_file(creds, "gateway"), creds_file(creds, "connector")
        assert not creds_file(creds, "tester").exists()  # no Vault access, no credentials
        gateway = env_file(gateway_file)
        assert gateway["BACKFUTURE_VAULT_ADDR"] == first.addr
        login(gateway, first.addr).secrets.kv.v2.create_or_update_secret(
            path="connections/persisted", secret={"api_key": "kept-key-0001"}, mount_point="secret"
        )
        # The job runs at every `docker compose up`: what running services hold stays valid.
        before = gateway_file.read_bytes()
        assert run_vault_init(first.addr, home, creds, None, 30) == 0
        assert gateway_file.read_bytes() == before
        assert login(env_file(connector_file), first.addr).is_authenticated()
        init_record = (home / "init.json").read_bytes()
    finally:
        first.stop()

    # 2. A restart on new ports with the same data auto-unseals; nothing is re-initialised.
    with persistent(home, logs) as second:
        client = second.client()
        assert client.sys.read_seal_status()["sealed"] is False
        assert (home / "init.json").read_bytes() == init_record
        assert second.root_token == json.loads(init_record)["root_token"]
        kept = login(env_file(connector_file), second.addr).secrets.kv.v2.read_secret_version(
            path="connections/persisted", mount_point="secret", raise_on_deleted_version=True
        )
        assert kept["data"]["data"] == {"api_key": "kept-key-0001"}
        again = bootstrap(second.addr, second.root_token)
        assert again.approles["gateway"].role_id == gateway["BACKFUTURE_VAULT_ROLE_ID"]

    for private in (home / "unseal.key", home / "init.json", gateway_file, connector_file):
        assert mode(private) == 0o600, private
    assert (home / "unseal.key").stat().st_size == 32
    assert mode(home) == 0o700

    # 3. Initialised data whose root token file is gone is refused, never silently reset.
    shutil.move(home / "init.json", tmp_path / "init.json.bak")
    orphaned = persistent(home, logs)
    with pytest.raises(StartupError, match="already initialised"):
        orphaned.start(timeout_s=20)
    assert not orphaned.child.running
