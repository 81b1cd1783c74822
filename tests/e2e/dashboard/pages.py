"""Helpers of the dashboard tests: simulator control, the browser page, the page's parts."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
EGRESS_IPS = ("203.0.113.10", "203.0.113.11")
PASSWORD = "correct horse battery staple"


@dataclass
class Sim:
    """The exchange simulator's control API: keys made for one test."""

    urls: dict[str, str]

    def key(self, exchange: str, permissions: list[str], *, passphrase: str | None = None, ip_whitelist: tuple[str, ...] = ()) -> dict[str, str]:
        """A fresh key on ``exchange`` (unique values, so no test sees another's key)."""
        creds = {"api_key": f"{exchange[:2]}{secrets.token_hex(10)}", "secret": f"canary-{secrets.token_hex(16)}"}
        body: dict[str, Any] = {**creds, "permissions": permissions, "ip_whitelist": list(ip_whitelist)}
        if passphrase is not None:
            creds["passphrase"] = passphrase
            body["passphrase"] = passphrase
        response = httpx.post(f"{self.urls[exchange]}/__sim/keys", json=body, timeout=10)
        assert response.status_code == 201, response.text
        return creds

    def settings(self, exchange: str, **switches: Any) -> None:
        response = httpx.patch(f"{self.urls[exchange]}/__sim/settings", json=switches, timeout=10)
        assert response.status_code == 200, response.text

    def conditions(self, exchange: str, **conditions: Any) -> None:
        response = httpx.patch(f"{self.urls[exchange]}/__sim/conditions", json=conditions, timeout=10)
        assert response.status_code == 200, response.text


@dataclass
class Browsing:
    """One browser context and page, with what the page received and what went wrong in it."""

    page: Any
    base_url: str
    test_name: str
    responses: list[Any] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def shot(self, step: str) -> Path:
        """Screenshot of the whole page as ``<test>-<step>.png``."""
        path = SCREENSHOTS / f"{self.test_name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True, animations="disabled")
        self.shots.append(path)
        return path

    def open(self, hash_route: str = "") -> None:
        self.page.goto(f"{self.base_url}/{hash_route}")
        self.page.wait_for_selector("body[data-ready=true]")


def register_in_page(b: Browsing, email: str | None = None) -> str:
    """Register a new account through the form; the page lands on the connections list."""
    address = email or f"trader-{secrets.token_hex(5)}@example.com"
    b.open("#/register")
    b.page.fill("input[name=email]", address)
    b.page.fill("input[name=password]", PASSWORD)
    b.page.click("form button[type=submit]")
    b.page.wait_for_selector("#connections-title")
    return address


def card(b: Browsing, name: str) -> Any:
    """The card of the connection called ``name``."""
    return b.page.locator("article.card", has=b.page.locator("h2.card-title", has_text=name))


def wait_status(b: Browsing, name: str, status: str, timeout_ms: int = 45_000) -> Any:
    """Wait until the card shows ``status`` (online, failed, rejected, awaiting, retrying...)."""
    locator = card(b, name)
    locator.and_(b.page.locator(f"[data-status={status}]")).wait_for(timeout=timeout_ms)
    return locator


def add_connection(b: Browsing, *, exchange: str, name: str, creds: dict[str, str], markets: tuple[str, ...] = ("spot",)) -> None:
    """Fill and submit the add form (from the connections page)."""
    b.page.click("#add-connection")
    b.page.wait_for_selector("form[data-form=add]")
    b.page.select_option("select[name=exchange]", exchange)
    for box in b.page.locator("input[name=markets]").all():
        if (box.get_attribute("value") in markets) != box.is_checked():
            box.click()
    b.page.fill("input[name=name]", name)
    for field_name, value in creds.items():
        b.page.fill(f"input[name={field_name}]", value)
    b.page.click("form[data-form=add] button[type=submit]")


def api_token(b: Browsing) -> str:
    """The bearer token the page holds (to check the API directly)."""
    raw = b.page.evaluate("sessionStorage.getItem('bf.session')")
    assert raw, "the page holds no session"
    token: str = json.loads(raw)["token"]
    return token


def api_add_connection(b: Browsing, api_url: str, *, exchange: str, name: str, creds: dict[str, str], markets: tuple[str, ...] = ("spot",)) -> str:
    """Add a connection through the API with the page's own token (a shortcut for set-ups)."""
    response = httpx.post(
        f"{api_url}/connections",
        headers={"Authorization": f"Bearer {api_token(b)}"},
        json={"exchange": exchange, "name": name, "markets": list(markets), **creds},
        timeout=15,
    )
    assert response.status_code == 201, response.text
    connection_id: str = response.json()["id"]
    return connection_id


def focus_by_tab(b: Browsing, selector: str, max_presses: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only)."""
    for _ in range(max_presses):
        if b.page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        b.page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")
