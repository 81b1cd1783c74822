"""Suite-wide fixtures: real NATS and OpenBao on free loopback ports, started once per session.

Fixtures (the implementation lives in ``bf_launch``, shared with the launcher):

* ``nats_server`` (session) — URL of a ``nats-server -js`` (``nats://127.0.0.1:<port>``);
* ``vault_server`` (session) — a dev-mode OpenBao, bootstrapped exactly like production
  (KV v2 ``secret``, transit key ``api-key-fingerprint``, one AppRole per service):
  a :class:`bf_launch.vault_bootstrap.VaultAccess` with ``addr``, ``root_token``,
  ``approles[service]`` and ``settings(service)`` (a ``VaultSettings`` for ``HvacVault``);
* ``nats_connection`` (function) — a fresh connected ``nats.aio.client.Client``;
* ``stack_factory`` (function) — ``stack_factory(services=[...], **kw)`` starts a
  :class:`bf_launch.stack.Stack` in a temp directory (own NATS, the session's OpenBao unless
  ``vault=None`` is replaced) and stops it at the end of the test;
* ``server_log_dir`` (session) — where the session servers write their logs.

Markers: tests under ``tests/integration`` and ``tests/e2e`` get ``integration`` / ``e2e``
automatically; ``soak`` tests are skipped unless ``BACKFUTURE_SOAK=1``, with the reason shown
in the summary.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client as NatsClient

from bf_launch.nats import NatsServer
from bf_launch.stack import Stack
from bf_launch.vault import OpenBaoServer
from bf_launch.vault_bootstrap import VaultAccess, bootstrap

SOAK_REASON = "soak test: runs only with BACKFUTURE_SOAK=1"


def pytest_configure(config: pytest.Config) -> None:
    # Always list skip reasons in the summary ("-rs"), so an off soak test is visible.
    chars = config.option.reportchars or ""
    if "s" not in chars and "a" not in chars and "A" not in chars:
        config.option.reportchars = chars + "s"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    soak_on = os.environ.get("BACKFUTURE_SOAK") == "1"
    for item in items:
        try:
            top = Path(item.path).relative_to(tests_dir).parts[0]
        except (ValueError, IndexError):
            top = ""
        if top == "integration":
            item.add_marker(pytest.mark.integration)
        elif top == "e2e":
            item.add_marker(pytest.mark.e2e)
        if not soak_on and item.get_closest_marker("soak") is not None:
            item.add_marker(pytest.mark.skip(reason=SOAK_REASON))


@pytest.fixture(scope="session")
def server_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logs of the session's NATS and OpenBao."""
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory, server_log_dir: Path) -> Iterator[str]:
    """URL of a real JetStream-enabled nats-server shared by the session."""
    server = NatsServer(tmp_path_factory.mktemp("nats-store"), server_log_dir)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def vault_server(server_log_dir: Path) -> Iterator[VaultAccess]:
    """A bootstrapped dev-mode OpenBao shared by the session, with per-service AppRoles."""
    server = OpenBaoServer.dev(server_log_dir)
    server.start()
    try:
        yield bootstrap(server.addr, server.root_token)
    finally:
        server.stop()


@pytest_asyncio.fixture
async def nats_connection(nats_server: str) -> AsyncIterator[NatsClient]:
    """A fresh client connection to the session's nats-server, closed after the test."""
    nc = await nats.connect(nats_server, connect_timeout=5, max_reconnect_attempts=0)
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture
def stack_factory(tmp_path: Path, vault_server: VaultAccess) -> Iterator[Callable[..., Stack]]:
    """Start :class:`Stack` instances for one test (each in its own directory); all stopped after."""
    stacks: list[Stack] = []

    def make(**kwargs: Any) -> Stack:
        kwargs.setdefault("vault", vault_server)
        stack = Stack(tmp_path / f"stack{len(stacks)}", **kwargs)
        stacks.append(stack)
        return stack.start()

    try:
        yield make
    finally:
        for stack in reversed(stacks):
            stack.stop()
