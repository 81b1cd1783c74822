"""``python -m bf_launch vault-init``: one-shot bootstrap of a containerised OpenBao.

For docker-compose (and any deployment where OpenBao runs elsewhere): waits for the server,
initialises it on first use (root token and recovery key 0600 in ``--state-dir``), applies
:func:`bf_launch.vault_bootstrap.bootstrap`, and writes ``<creds-dir>/<service>/vault.env`` for
each service that talks to Vault (one directory per service, so each can be a separate volume
that only that service mounts). A credentials file that already exists is kept, so running
services are not cut off when the init job runs again; delete a file to rotate that secret_id.
"""

from __future__ import annotations

import json
from pathlib import Path

from bf_launch.statefiles import write_private
from bf_launch.vault import initialize_if_needed
from bf_launch.vault_bootstrap import VAULT_CLIENTS, bootstrap, role_name


def creds_file(creds_dir: Path, service: str) -> Path:
    """Where ``service``'s AppRole credentials are written."""
    return creds_dir / service / "vault.env"


def _env_file(addr: str, role_id: str, secret_id: str) -> bytes:
    lines = [
        f"BACKFUTURE_VAULT_ADDR={addr}",
        f"BACKFUTURE_VAULT_ROLE_ID={role_id}",
        f"BACKFUTURE_VAULT_SECRET_ID={secret_id}",
    ]
    return ("\n".join(lines) + "\n").encode()


def run_vault_init(addr: str, state_dir: Path, creds_dir: Path, policy_dir: Path | None, timeout_s: float) -> int:
    """Initialise (once), bootstrap (always) and hand out missing credentials files."""
    token = initialize_if_needed(addr, state_dir / "init.json", timeout_s)
    missing = [s for s in VAULT_CLIENTS if not creds_file(creds_dir, s).exists()]
    access = bootstrap(addr, token, policy_dir=policy_dir, mint=missing)
    for service in missing:
        creds = access.approles[service]
        write_private(creds_file(creds_dir, service), _env_file(addr, creds.role_id, creds.secret_id))
    summary = {"addr": addr, "roles": [role_name(s) for s in VAULT_CLIENTS], "new_credentials": missing}
    print(json.dumps(summary), flush=True)
    return 0
