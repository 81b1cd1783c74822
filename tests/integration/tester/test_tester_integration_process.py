"""``python -m bf_tester`` honours the process contract: env config, /healthz, JSON logs, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .harness import connect, reset_tester_state
from .test_tester_integration_flow import settings_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


async def test_module_runs_from_env_serves_healthz_and_stops_on_sigterm(nats_server: str) -> None:
    nc = await connect(nats_server)
    await reset_tester_state(nc, settings_for(nats_server))
    await nc.close()
    port = free_port()
    env = {
        **os.environ,
        "BACKFUTURE_NATS_URL": nats_server,
        "BACKFUTURE_OPS_PORT": str(port),
        "BACKFUTURE_LOG_LEVEL": "INFO",
        "BACKFUTURE_EGRESS_IPS": "203.0.113.7, 203.0.113.8",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bf_tester"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while healthz(port) != 200:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "never became healthy"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert lines and all(line["service"] == "tester" for line in lines)
    assert any(line["msg"] == "scheduler lease acquired" for line in lines)
