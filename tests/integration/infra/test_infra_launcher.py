"""``python -m bf_launch up`` as a user runs it: start, supervise, Ctrl-C, start again.

Services are left out (``BACKFUTURE_LAUNCH_SERVICES=none``): these tests are about the
launcher and its servers; the services are covered by their own and the e2e tests.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import hvac
import pytest

from bf_launch.procs import free_port, http_status

from .test_infra_procs import alive, wait_gone


class Launcher:
    """A launcher subprocess whose output is collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bf_launch", "up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"{pattern!r} not seen; output so far:\n{''.join(self.output)}")

    def pids(self) -> dict[str, int]:
        found = (re.match(r"\s+(\S+)\s+pid (\d+)", line) for line in self.output)
        return {m.group(1): int(m.group(2)) for m in found if m}

    def finish(self, sig: signal.Signals, timeout_s: float = 30.0) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout_s)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def launcher_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKFUTURE_", "BAO_", "VAULT_"))}
    env.update(
        {
            "BACKFUTURE_STATE_DIR": str(tmp_path / "state"),
            "BACKFUTURE_NATS_PORT": str(free_port()),
            "BACKFUTURE_NATS_MONITOR_PORT": str(free_port()),
            "BACKFUTURE_VAULT_PORT": str(free_port()),
            "BACKFUTURE_VAULT_CLUSTER_PORT": str(free_port()),
            "BACKFUTURE_GATEWAY_PORT": str(free_port()),
            "BACKFUTURE_LAUNCH_SERVICES": "none",
        }
    )
    return env


@pytest.fixture
def start_launcher(launcher_env: dict[str, str]) -> Iterator[Callable[[], Launcher]]:
    started: list[Launcher] = []

    def start() -> Launcher:
        started.append(Launcher(launcher_env))
        return started[-1]

    yield start
    for launcher in started:
        launcher.kill()


def vault_client(env: dict[str, str]) -> hvac.Client:
    init = json.loads((Path(env["BACKFUTURE_STATE_DIR"]) / "openbao" / "init.json").read_text())
    return hvac.Client(url=f"http://127.0.0.1:{env['BACKFUTURE_VAULT_PORT']}", token=init["root_token"])


def test_launcher_lifecycle_supervises_stops_cleanly_and_keeps_state_across_starts(
    start_launcher: Callable[[], Launcher], launcher_env: dict[str, str]
) -> None:
    # One scenario, because every launcher start costs an OpenBao start (and the first an init).
    first = start_launcher()
    first.wait_for("Ctrl-C stops everything")
    pids = first.pids()
    assert set(pids) == {"nats", "openbao"} and all(alive(p) for p in pids.values())
    vault_client(launcher_env).secrets.kv.v2.create_or_update_secret(
        path="connections/kept", secret={"api_key": "kept-0001"}, mount_point="secret"
    )

    # A second launcher on the same state directory is refused; the first one is unharmed.
    intruder = start_launcher()
    intruder.wait_for("another launcher is using")
    assert intruder.proc.wait(10) == 2 and first.proc.poll() is None

    # A crashed server is restarted by the supervisor.
    os.kill(pids["nats"], signal.SIGKILL)
    first.wait_for(r"nats exited with code -9; restarting")
    restarted = first.wait_for(r"nats restarted \(pid \d+\)")
    new_nats = int(re.findall(r"pid (\d+)", restarted)[-1])
    monitor = f"http://127.0.0.1:{launcher_env['BACKFUTURE_NATS_MONITOR_PORT']}/healthz"
    deadline = time.monotonic() + 10
    while http_status(monitor) != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert http_status(monitor) == 200

    # Ctrl-C stops every child.
    assert first.finish(signal.SIGINT) == 0
    assert all(wait_gone(p) for p in (new_nats, pids["openbao"])), "a child outlived the launcher"

    # The second start auto-unseals the same OpenBao: the secret is still there.
    second = start_launcher()
    second.wait_for("Ctrl-C stops everything")
    read = vault_client(launcher_env).secrets.kv.v2.read_secret_version(
        path="connections/kept", mount_point="secret", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"api_key": "kept-0001"}

    # Even a SIGKILLed launcher leaves no orphans (the kernel's parent-death signal).
    second_pids = second.pids()
    second.kill()
    assert all(wait_gone(p) for p in second_pids.values()), "a child outlived the SIGKILLed launcher"


def test_a_busy_port_is_reported_with_the_setting_to_change(
    start_launcher: Callable[[], Launcher], launcher_env: dict[str, str]
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(launcher_env["BACKFUTURE_NATS_PORT"])))
        squatter.listen()
        launcher = start_launcher()
        launcher.wait_for(r"ports already in use: \d+ \(BACKFUTURE_NATS_PORT\)")
        assert launcher.proc.wait(10) == 1
