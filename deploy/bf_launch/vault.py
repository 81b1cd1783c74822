"""A real OpenBao server on loopback: persistent for the launcher, ``-dev`` for the tests.

Persistent mode keeps everything under one directory::

    <dir>/config.hcl   written on every start (ports may change)
    <dir>/unseal.key   32 random bytes, 0600: the static auto-unseal key
    <dir>/init.json    0600: root token and recovery key from the first ``operator init``
    <dir>/data/        raft storage

With a ``seal "static"`` stanza OpenBao unseals itself at start-up, so after the first
initialisation no one has to type unseal keys; ``operator init`` then returns recovery keys
(not unseal keys) and the root token. This is a local development convenience: the key file
sits next to the data it protects. Production uses a KMS/transit seal (see ``deploy/``).

Dev mode (``bao server -dev``) is in-memory and unsealed, with a random root token passed
through the environment so it never shows in ``ps``.

Both modes are then configured by the same idempotent :func:`bf_launch.vault_bootstrap.bootstrap`.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from types import TracebackType

import hvac

from bf_launch.binaries import bao_binary
from bf_launch.procs import LOOPBACK, Child, ProcessSpec, StartupError, clean_env, free_port, http_status
from bf_launch.statefiles import read_or_create, write_private
from bf_shared.logs import register_secret

#: /v1/sys/health: 200 active, 429 standby, 501 not initialised, 503 sealed.
HEALTH_ACTIVE = 200
HEALTH_NOT_INITIALISED = 501
HEALTH_SEALED = 503


def _health_url(addr: str) -> str:
    # Without the query flags a standby/uninitialised/sealed server answers non-200;
    # we want the raw state code.
    return f"{addr}/v1/sys/health"


def wait_for_api(addr: str, timeout_s: float, child: Child | None = None) -> int:
    """Wait until ``addr`` answers /v1/sys/health at all; returns the status code."""
    deadline = time.monotonic() + timeout_s
    while True:
        if child is not None and not child.running:
            raise StartupError(f"{child.name} exited with code {child.returncode}\n{child.log_tail()}")
        status = http_status(_health_url(addr))
        if status is not None:
            return status
        if time.monotonic() >= deadline:
            raise StartupError(f"OpenBao at {addr} did not answer within {timeout_s:.0f}s")
        time.sleep(0.1)


def wait_until_active(addr: str, timeout_s: float, child: Child | None = None) -> None:
    """Wait until the server is initialised, unsealed and the active node (health 200)."""
    deadline = time.monotonic() + timeout_s
    status: int | None = None
    while True:
        if child is not None and not child.running:
            raise StartupError(f"{child.name} exited with code {child.returncode}\n{child.log_tail()}")
        status = http_status(_health_url(addr))
        if status == HEALTH_ACTIVE:
            return
        if time.monotonic() >= deadline:
            hint = " (sealed: is the static unseal key the one it was initialised with?)" if status == 503 else ""
            raise StartupError(f"OpenBao at {addr} not active after {timeout_s:.0f}s: health {status}{hint}")
        time.sleep(0.1)


def initialize_if_needed(addr: str, init_file: Path, timeout_s: float = 60.0) -> str:
    """Initialise an auto-unseal server once; returns the root token (kept 0600 in ``init_file``).

    A server that is initialised while ``init_file`` is missing cannot be administered by us:
    that is an error rather than a silent reset.
    """
    status = wait_for_api(addr, timeout_s)
    if status == HEALTH_NOT_INITIALISED:
        client = hvac.Client(url=addr, timeout=30)
        # With an auto-unseal seal these are recovery shares; one share is enough for a
        # single local operator.
        result = client.sys.initialize(recovery_shares=1, recovery_threshold=1)
        record = {
            "root_token": result["root_token"],
            "recovery_keys_b64": result.get("recovery_keys_base64") or [],
        }
        write_private(init_file, json.dumps(record, indent=2).encode())
    if not init_file.exists():
        raise StartupError(
            f"OpenBao at {addr} is already initialised but {init_file} is missing: "
            "restore it, or remove the OpenBao data directory to start empty"
        )
    token = str(json.loads(init_file.read_text())["root_token"])
    register_secret(token)
    wait_until_active(addr, timeout_s)
    return token


def _persistent_config(data_dir: Path, key_file: Path, host: str, port: int, cluster_port: int) -> str:
    api = f"http://{host}:{port}"
    return f"""# Written by the launcher at every start; edit the launcher, not this file.
storage "raft" {{
  path    = "{data_dir}"
  node_id = "local"
  # Faster leader election for a single local node (1 = the tightest timing).
  performance_multiplier = 1
}}

listener "tcp" {{
  address         = "{host}:{port}"
  cluster_address = "{host}:{cluster_port}"
  tls_disable     = true
}}

seal "static" {{
  current_key_id = "local-1"
  current_key    = "file://{key_file}"
}}

api_addr     = "{api}"
cluster_addr = "http://{host}:{cluster_port}"
ui           = false
"""


class OpenBaoServer:
    """One ``bao server`` process; build it with :meth:`dev` or :meth:`persistent`."""

    def __init__(self, spec: ProcessSpec, log_dir: Path, addr: str, *, home: Path | None, root_token: str | None) -> None:
        self.addr = addr
        self.home = home
        self.root_token = root_token or ""
        self.child = Child(spec, log_dir)

    @classmethod
    def dev(cls, log_dir: Path, *, port: int = 0, host: str = LOOPBACK, name: str = "openbao") -> OpenBaoServer:
        """An in-memory dev server (tests only) with a random root token."""
        port = port or free_port(host)
        token = f"root-{secrets.token_hex(16)}"
        register_secret(token)
        spec = ProcessSpec(
            name=name,
            argv=(str(bao_binary()), "server", "-dev", f"-dev-listen-address={host}:{port}", "-dev-no-store-token"),
            env={**clean_env(), "BAO_DEV_ROOT_TOKEN_ID": token},
            health_url=_health_url(f"http://{host}:{port}"),
            stop_timeout_s=10.0,
        )
        return cls(spec, log_dir, f"http://{host}:{port}", home=None, root_token=token)

    @classmethod
    def persistent(
        cls,
        home: Path,
        log_dir: Path,
        *,
        port: int = 8200,
        cluster_port: int = 8201,
        host: str = LOOPBACK,
        name: str = "openbao",
    ) -> OpenBaoServer:
        """Raft storage and a static auto-unseal key under ``home`` (see the module doc)."""
        home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o700)
        data_dir = home / "data"
        data_dir.mkdir(exist_ok=True)
        key_file = home / "unseal.key"
        read_or_create(key_file, lambda: secrets.token_bytes(32))
        config = home / "config.hcl"
        config.write_text(_persistent_config(data_dir, key_file, host, port, cluster_port))
        spec = ProcessSpec(
            name=name,
            argv=(str(bao_binary()), "server", f"-config={config}"),
            env=clean_env(),
            health_url=_health_url(f"http://{host}:{port}"),
            stop_timeout_s=15.0,
        )
        return cls(spec, log_dir, f"http://{host}:{port}", home=home, root_token=None)

    @property
    def init_file(self) -> Path | None:
        """Where the root token and recovery key live (persistent mode only)."""
        return self.home / "init.json" if self.home is not None else None

    def start(self, timeout_s: float = 60.0) -> OpenBaoServer:
        """Start; initialise on first use (persistent) and wait until active and unsealed."""
        self.child.start()
        try:
            if self.init_file is not None:
                wait_for_api(self.addr, timeout_s, self.child)
                self.root_token = initialize_if_needed(self.addr, self.init_file, timeout_s)
            wait_until_active(self.addr, timeout_s, self.child)
        except BaseException:
            self.child.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM (raft snapshot and close), SIGKILL after the timeout."""
        self.child.stop()

    def client(self) -> hvac.Client:
        """An hvac client with the root token (bootstrap and tests)."""
        return hvac.Client(url=self.addr, token=self.root_token, timeout=10)

    def __enter__(self) -> OpenBaoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
