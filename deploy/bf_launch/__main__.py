"""``python -m bf_launch up`` runs the local system; ``vault-init`` bootstraps a remote OpenBao."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bf_launch.settings import LaunchSettings
from bf_shared.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bf_launch", description="BackFuture Connect local launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start everything locally until Ctrl-C (settings: BACKFUTURE_* env vars)")
    init = sub.add_parser("vault-init", help="initialise and bootstrap an OpenBao server (containers)")
    init.add_argument("--addr", default="http://openbao:8200", help="OpenBao API address")
    init.add_argument("--state-dir", type=Path, required=True, help="where init.json (root token) is kept, 0600")
    init.add_argument("--creds-dir", type=Path, required=True, help="where <service>/vault.env AppRole files go")
    init.add_argument(
        "--policy-dir", type=Path, default=None, help="policies/<service>.hcl (default: deploy/vault/policies)"
    )
    init.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the server")
    args = parser.parse_args(argv)

    settings = LaunchSettings()
    # Human-readable lines for a terminal; secrets are redacted all the same.
    configure_logging("launcher", settings.log_level, as_json=False)
    if args.command == "up":
        from bf_launch.up import run_up

        return run_up(settings)
    from bf_launch.vault_init import run_vault_init

    return run_vault_init(args.addr, args.state_dir, args.creds_dir, args.policy_dir, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
