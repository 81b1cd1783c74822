"""Child-process handling: logs, readiness, stop escalation, no orphans when the parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bf_launch.procs import Child, ProcessGroup, ProcessSpec, StartupError, free_port, http_status

PY = sys.executable


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists" until reaped; it is not running any more.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def wait_gone(pid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def http_server_spec(name: str, port: int) -> ProcessSpec:
    code = f"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == '/healthz' else 404); self.end_headers()
    def log_message(self, *a): pass
print('serving', flush=True); print('to stderr', file=sys.stderr, flush=True)
http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()
"""
    return ProcessSpec(name=name, argv=(PY, "-c", code), health_url=f"http://127.0.0.1:{port}/healthz")


def test_a_child_becomes_ready_logs_both_streams_and_stops(tmp_path: Path) -> None:
    port = free_port()
    group = ProcessGroup(tmp_path)
    child = group.start(http_server_spec("web", port), ready_timeout_s=10)
    try:
        assert http_status(f"http://127.0.0.1:{port}/healthz") == 200
    finally:
        group.stop_all()
    assert not child.running and child.pid is not None and wait_gone(child.pid)
    log = (tmp_path / "web.log").read_text()
    assert "serving" in log and "to stderr" in log and "starting web" in log


def test_tcp_readiness_waits_for_the_port(tmp_path: Path) -> None:
    port = free_port()
    code = f"import socket,time; time.sleep(0.3); s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(60)"
    child = Child(ProcessSpec(name="tcp", argv=(PY, "-c", code), tcp_ports=(port,)), tmp_path)
    child.start()
    try:
        assert not child.is_ready()
        child.wait_ready(10)
        assert child.is_ready()
    finally:
        child.stop()


def test_a_child_that_dies_during_start_up_reports_its_log_tail(tmp_path: Path) -> None:
    spec = ProcessSpec(
        name="broken",
        argv=(PY, "-c", "import sys; print('bad config: BACKFUTURE_X missing'); sys.exit(3)"),
        health_url=f"http://127.0.0.1:{free_port()}/healthz",
    )
    with pytest.raises(StartupError, match="exited with code 3") as raised:
        ProcessGroup(tmp_path).start(spec, ready_timeout_s=10)
    assert "bad config: BACKFUTURE_X missing" in str(raised.value)


def test_readiness_timeout_is_an_error_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/healthz"
    group = ProcessGroup(tmp_path)
    try:
        with pytest.raises(StartupError, match="not ready after"):
            group.start(ProcessSpec(name="mute", argv=(PY, "-c", "import time; time.sleep(60)"), health_url=url), ready_timeout_s=0.5)
    finally:
        group.stop_all()
    assert not group.children["mute"].running


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path) -> None:
    code = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('armed' + '!', flush=True); time.sleep(60)"
    child = Child(ProcessSpec(name="stubborn", argv=(PY, "-c", code), stop_timeout_s=0.5), tmp_path)
    child.start()
    deadline = time.monotonic() + 10
    # (the argv itself is logged too, hence the marker is assembled at run time)
    while "armed!" not in child.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert child.stop() == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_children_die_with_their_parent_even_on_sigkill(tmp_path: Path) -> None:
    parent_code = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from bf_launch.procs import Child, ProcessSpec
        child = Child(ProcessSpec(name="orphan", argv=({PY!r}, "-c", "import time; time.sleep(60)")), Path({str(tmp_path)!r}))
        child.start()
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([PY, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert alive(child_pid)
        parent.kill()
        parent.wait()
        assert wait_gone(child_pid), "the child outlived its SIGKILLed parent"
    finally:
        parent.kill()


def test_free_ports_are_not_handed_out_twice() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
