"""Languages: the browser's language by default, the switcher's choice kept across reloads,
the API's texts in the same language, and English wherever a translation is missing."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bf_gateway.i18n import translate
from bf_launch.stack import Stack

from tests.e2e.dashboard.pages import Browsing, Sim, api_add_connection, register_in_page, wait_status


def test_the_choice_is_kept_and_the_api_speaks_it_too(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    register_in_page(b)
    key = sim.key("kucoin", ["General", "Spot"], passphrase="real-phrase-1")
    api_add_connection(b, stack.api_url, exchange="kucoin", name="KuCoin Spot Main", creds={**key, "passphrase": "wrong-phrase"})

    page.select_option("#lang-select", "bg")
    page.wait_for_selector("html[lang=bg]")
    api_calls: list[Any] = []
    page.on("request", lambda r: api_calls.append(r) if "/api/v1/" in r.url else None)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("document.documentElement.lang") == "bg", "the choice survives a reload"
    assert page.input_value("#lang-select") == "bg"
    assert page.locator("#connections-title").inner_text() == "Връзки с борси"

    failed = wait_status(b, "KuCoin Spot Main", "failed")
    cause, remedy = translate("invalid_passphrase", "bg")  # type: ignore[misc]
    assert failed.locator("[data-testid=cause]").inner_text() == cause
    assert failed.locator("[data-testid=remedy]").inner_text() == remedy
    assert failed.locator(".check-row[data-check=api_key] .name").inner_text() == "API ключът е приет"
    assert api_calls and all(r.headers.get("accept-language") == "bg" for r in api_calls)
    b.shot("01-bulgarian")


def test_the_browser_language_is_the_default(browser: Any, stack: Stack) -> None:
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(f"{stack.gateway_url}/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.locator("#auth-title").inner_text() == "Connexion"
    finally:
        context.close()


def test_a_missing_translation_falls_back_to_english(browsing: Browsing, stack: Stack) -> None:
    b, page = browsing, browsing.page
    french = httpx.get(f"{stack.gateway_url}/app/locales/fr.json", timeout=10).json()
    del french["conn.title"]

    def serve_incomplete(route: Any) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(french))

    page.route("**/app/locales/fr.json", serve_incomplete)
    register_in_page(b)
    page.select_option("#lang-select", "fr")
    page.wait_for_selector("html[lang=fr]")
    assert page.locator("#connections-title").inner_text() == "Exchange connections"  # English, not the key
    assert page.locator("#add-connection").inner_text() == "Ajouter une connexion"  # the rest stays French


def test_an_unreachable_catalogue_leaves_the_page_in_english(browsing: Browsing) -> None:
    b, page = browsing, browsing.page
    page.route("**/app/locales/bg.json", lambda route: route.fulfill(status=500, body="down"))
    register_in_page(b)
    page.select_option("#lang-select", "bg")
    page.wait_for_selector("#connections-title")
    assert page.locator("#connections-title").inner_text() == "Exchange connections"
