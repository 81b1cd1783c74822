"""The gateway serves the dashboard: the page, its assets and catalogues, with a strict
Content-Security-Policy, nothing outside ``static/``, and no secret in anything served."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from bf_shared.strategy import PAIR_GROUPS, PRESETS

from bf_gateway.bootstrap import create_app
from bf_gateway.testing import InMemoryGateway
from bf_gateway.web.router import STATIC


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(InMemoryGateway().deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as c:
        yield c


async def test_the_page_is_served_with_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert '<script type="module" src="/app/js/main.js">' in response.text
    assert "<script>" not in response.text, "no inline script: the policy would block it"


def _imports(path: Path) -> list[str]:
    return re.findall(r'^\s*import .*? from "(\.{1,2}/[^"]+)";', path.read_text(encoding="utf-8"), flags=re.M)


async def test_every_module_the_page_imports_is_served_as_javascript(client: httpx.AsyncClient) -> None:
    seen: set[Path] = set()
    pending = [STATIC / "js" / "main.js"]
    while pending:
        module = pending.pop().resolve()
        if module in seen:
            continue
        seen.add(module)
        response = await client.get("/app/" + module.relative_to(STATIC.resolve()).as_posix())
        assert response.status_code == 200, module
        assert response.headers["content-type"].startswith("text/javascript")
        assert "content-security-policy" in response.headers
        pending.extend(module.parent / target for target in _imports(module))
    assert len(seen) == len(list(STATIC.glob("js/**/*.js"))), "every script is reachable from main.js"
    css = await client.get("/app/css/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path",
    [
        "/app/../router.py",
        "/app/%2e%2e/router.py",
        "/app/js/%2e%2e/%2e%2e/router.py",
        "/app/..%2f..%2fi18n.py",
        "/app/%2fetc%2fpasswd",
        "/app/js/",
        "/app/js/missing.js",
        "/app/locales/de.json",
        "/app/locales/..%2fconfig.json",
    ],
)
async def test_nothing_outside_the_assets_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "def " not in response.text and "root:" not in response.text


async def test_a_catalogue_holds_the_page_texts_and_the_check_texts(client: httpx.AsyncClient) -> None:
    response = await client.get("/app/locales/fr.json")
    assert response.status_code == 200
    texts = response.json()
    assert texts["conn.title"] == "Connexions aux plateformes d'échange"
    assert texts["check.withdraw_disabled"] == "Retrait désactivé"


async def test_the_strategy_form_gets_the_servers_presets(client: httpx.AsyncClient) -> None:
    config = (await client.get("/app/config.json")).json()
    assert set(config["strategy_presets"]) == set(PRESETS)
    conservative = config["strategy_presets"]["conservative"]
    assert conservative["base_order_quote"] == float(PRESETS["conservative"]["base_order_quote"])
    assert conservative["reinforcement"]["step_pct"] == float(PRESETS["conservative"]["reinforcement"]["step_pct"])
    assert config["pair_groups"] == {name: list(pairs) for name, pairs in PAIR_GROUPS.items()}


async def test_the_api_keeps_its_own_routes(client: httpx.AsyncClient) -> None:
    # The dashboard's routes must not shadow the API's (an unknown API route stays JSON 404).
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
