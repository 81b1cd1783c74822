"""The launcher's persistent OpenBao: raft storage, static auto-unseal, private key files."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from bf_launch.procs import StartupError, free_port
from bf_launch.vault import OpenBaoServer
from bf_launch.vault_bootstrap import bootstrap


def persistent(home: Path, logs: Path) -> OpenBaoServer:
    return OpenBaoServer.persistent(home, logs, port=free_port(), cluster_port=free_port())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_restart_auto_unseals_keeps_secrets_and_refuses_data_without_its_root_token(tmp_path: Path) -> None:
    home, logs = tmp_path / "openbao", tmp_path / "logs"
    with persistent(home, logs) as first:
        access = bootstrap(first.addr, first.root_token)
        first.client().secrets.kv.v2.create_or_update_secret(
            path="connections/persisted", secret={"api_key": "kept-key-0001"}, mount_point="secret"
        )
        init_record = (home / "init.json").read_bytes()

    with persistent(home, logs) as second:  # new ports, same data: must auto-unseal, not re-init
        client = second.client()
        assert client.sys.read_seal_status()["sealed"] is False
        assert (home / "init.json").read_bytes() == init_record
        assert second.root_token == json.loads(init_record)["root_token"]
        kept = client.secrets.kv.v2.read_secret_version(
            path="connections/persisted", mount_point="secret", raise_on_deleted_version=True
        )
        assert kept["data"]["data"] == {"api_key": "kept-key-0001"}
        assert bootstrap(second.addr, second.root_token).approles["gateway"].role_id == access.approles["gateway"].role_id

    assert mode(home / "unseal.key") == 0o600 and (home / "unseal.key").stat().st_size == 32
    assert mode(home / "init.json") == 0o600
    assert mode(home) == 0o700

    # Initialised data whose root token file is gone is refused, never silently reset.
    shutil.move(home / "init.json", tmp_path / "init.json.bak")
    orphaned = persistent(home, logs)
    with pytest.raises(StartupError, match="already initialised"):
        orphaned.start(timeout_s=20)
    assert not orphaned.child.running
