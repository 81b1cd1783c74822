"""The dashboard in a real headless Chromium against the real system.

One stack for the whole package (simulator, both connectors, tester, gateway on real NATS
and the session's OpenBao) and one browser; every test gets a fresh browser context (its own
storage, so its own session). The browser is Debian's ``chromium`` driven by Playwright for
Python; no browser is ever downloaded. When it is missing the tests FAIL with the command
that installs it: a dashboard suite that skipped itself would prove nothing.

Screenshots of each step go to ``test-artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bf_launch.stack import Stack
from bf_launch.vault_bootstrap import VaultAccess

from tests.e2e.dashboard.pages import EGRESS_IPS, SCREENSHOTS, Browsing, Sim

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Retries are slowed down so the page can be seen announcing one before it happens.
RETRY_ENV = {"BACKFUTURE_RETRY_MIN_S": "8", "BACKFUTURE_RETRY_BASE_S": "8"}


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the machine
        pytest.fail("Playwright for Python is missing: pip install -e '.[test]' installs it.")
    return sync_playwright


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's chromium is not installed ({CHROMIUM} is missing). Install it with "
            "`apt-get update && apt-get install -y chromium` (./dev test does it when it can)."
        )
    with _playwright()() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, vault_server: VaultAccess) -> Iterator[Stack]:
    """The real system: simulator, connectors, tester and gateway (serving the dashboard)."""
    with Stack(
        tmp_path_factory.mktemp("dashboard-stack"),
        services=["sim", "connector", "tester", "gateway"],
        vault=vault_server,
        egress_ips=",".join(EGRESS_IPS),
        service_env={"tester": RETRY_ENV},
    ) as running:
        yield running


@pytest.fixture
def sim(stack: Stack) -> Iterator[Sim]:
    """Simulator control; the exchanges' switches and conditions are reset after the test."""
    control = Sim(stack.sim_urls)
    try:
        yield control
    finally:
        for exchange in stack.sim_urls:
            httpx.put(f"{stack.sim_urls[exchange]}/__sim/conditions", json={}, timeout=10)
        control.settings("mexc", api_key_info_supported=True)


@pytest.fixture
def browsing(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Browsing]:
    """A fresh context (desktop size, dark scheme, English browser) and its page.

    Uncaught exceptions in the page fail the test.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark", locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    name = request.node.name.removeprefix("test_")
    state = Browsing(page=page, base_url=stack.gateway_url, test_name=name)
    page.on("response", lambda response: state.responses.append(response))
    page.on("pageerror", lambda error: state.page_errors.append(str(error)))
    try:
        yield state
    finally:
        context.close()
    assert state.page_errors == [], f"uncaught errors in the page: {state.page_errors}"
