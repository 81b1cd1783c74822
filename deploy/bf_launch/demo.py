"""The demo user and the simulator's demo keys, shown when the local system is up.

The demo password is generated once per state directory (0600 file) unless
``BACKFUTURE_DEMO_PASSWORD`` is set: a local system still should not ship a guessable login.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bf_launch.statefiles import read_or_create


def demo_password(path: Path) -> str:
    """The persisted demo password (upper, lower, digit and symbol, 20 characters)."""
    return read_or_create(path, lambda: f"Demo-{secrets.token_hex(6)}-Bf7".encode()).decode().strip()


def _post_json(url: str, body: dict[str, str], timeout_s: float = 10.0) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (our own gateway URL)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as e:
        status, raw = int(e.code), e.read()
    try:
        payload = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        payload = {}
    return status, payload if isinstance(payload, dict) else {}


@dataclass(frozen=True)
class DemoLogin:
    """The outcome of registering and logging in the demo user."""

    email: str
    password: str
    registered: bool  # created now (False: it already existed)
    login_ok: bool
    problem: str = ""


def ensure_demo_user(api_url: str, email: str, password: str) -> DemoLogin:
    """Register (409 = already there) and prove the login works."""
    try:
        status, _ = _post_json(f"{api_url}/auth/register", {"email": email, "password": password})
        if status not in (200, 201, 409):
            return DemoLogin(email, password, False, False, f"register answered HTTP {status}")
        login_status, body = _post_json(f"{api_url}/auth/login", {"email": email, "password": password})
    except (urllib.error.URLError, OSError) as e:
        return DemoLogin(email, password, False, False, f"gateway unreachable: {type(e).__name__}")
    ok = login_status == 200 and bool(body.get("access_token"))
    problem = "" if ok else f"login answered HTTP {login_status} (password changed since the user was created?)"
    return DemoLogin(email, password, status in (200, 201), ok, problem)


def demo_keys() -> Any | None:
    """The simulator's published demo keys (``bf_sim/demo_keys.json``), if it ships them."""
    try:
        text = resources.files("bf_sim").joinpath("demo_keys.json").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def render(value: Any, indent: int = 4) -> list[str]:
    """Readable lines for any JSON value (the keys file's shape belongs to the simulator)."""
    pad = " " * indent
    if isinstance(value, dict):
        lines: list[str] = []
        for key, item in value.items():
            if isinstance(item, dict | list):
                lines.append(f"{pad}{key}:")
                lines += render(item, indent + 2)
            else:
                lines.append(f"{pad}{key}: {item}")
        return lines
    if isinstance(value, list):
        lines = []
        for i, item in enumerate(value):
            if i and isinstance(item, dict | list):
                lines.append("")
            lines += render(item, indent) if isinstance(item, dict | list) else [f"{pad}- {item}"]
        return lines
    return [f"{pad}{value}"]


def render_keys(data: Any, indent: int = 4) -> list[str]:
    """One line per demo key (label, key, secret, passphrase), grouped by exchange.

    Falls back to :func:`render` when the file does not have the ``{exchange: {keys: [...]}}``
    shape, so a change on the simulator's side degrades the banner, not the launcher.
    """
    pad = " " * indent
    if not isinstance(data, dict):
        return render(data, indent)
    exchanges = {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("keys"), list)}
    if not exchanges:
        return render(data, indent)
    lines: list[str] = []
    for exchange, block in exchanges.items():
        lines.append(f"{pad}{exchange}: {'label':<20} {'api_key':<26} {'secret':<38} passphrase")
        for key in block["keys"]:
            if not isinstance(key, dict):
                continue
            lines.append(
                f"{pad}{'':<{len(exchange) + 1}} {key.get('label', ''):<20} {key.get('api_key', ''):<26} "
                f"{key.get('secret', ''):<38} {key.get('passphrase', '')}".rstrip()
            )
    return lines
