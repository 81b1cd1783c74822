"""Sessions follow the API's rules: the token's expiry ends them, a revoked token ends them,
and logging out revokes the token on the server, not only in the page."""

from __future__ import annotations

import json

import httpx
import jwt

from bf_launch.stack import Stack

from tests.e2e.dashboard.pages import PASSWORD, Browsing, api_token, register_in_page


def _connections_status(stack: Stack, token: str) -> int:
    return httpx.get(f"{stack.api_url}/connections", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def test_log_out_revokes_the_token_and_log_in_again(browsing: Browsing, stack: Stack) -> None:
    b, page = browsing, browsing.page
    email = register_in_page(b)
    token = api_token(b)
    assert _connections_status(stack, token) == 200

    page.click("#logout")
    page.wait_for_selector("#auth-title")
    assert "You are logged out." in page.locator("#notices").inner_text()
    assert page.evaluate("sessionStorage.getItem('bf.session')") is None
    assert _connections_status(stack, token) == 401, "logging out must revoke the token on the server"
    b.shot("01-logged-out")

    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "not the password")
    page.click("form button[type=submit]")
    page.wait_for_selector(".form-error:visible")
    assert page.input_value("input[name=password]") == "", "a refused password is not kept in the form"
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("#connections-title")


def test_a_token_revoked_elsewhere_sends_the_page_back_to_login(browsing: Browsing, stack: Stack) -> None:
    b, page = browsing, browsing.page
    register_in_page(b)
    token = api_token(b)
    # Another tab logs out: the token this page holds is revoked.
    assert httpx.post(f"{stack.api_url}/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 204

    page.click("#nav-add")  # the next API call answers 401
    page.wait_for_selector("#auth-title")
    assert "Your session expired. Please log in again." in page.locator("#notices").inner_text()
    assert page.evaluate("sessionStorage.getItem('bf.session')") is None
    b.shot("01-back-to-login")


def test_the_session_ends_when_the_token_expires(browsing: Browsing) -> None:
    b, page = browsing, browsing.page
    register_in_page(b)
    session = json.loads(page.evaluate("sessionStorage.getItem('bf.session')"))
    claims = jwt.decode(session["token"], options={"verify_signature": False})
    assert session["expiresAt"] == claims["exp"] * 1000, "the page must end the session at the token's own expiry"

    # Jump to a second before that expiry (the gateway's shortest token lives a minute).
    page.evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('bf.session'));"
        " s.expiresAt = Date.now() + 1000; sessionStorage.setItem('bf.session', JSON.stringify(s)); }"
    )
    page.reload()
    page.wait_for_selector("#connections-title")
    page.wait_for_selector("#auth-title", timeout=10_000)
    assert "Your session expired" in page.locator("#notices").inner_text()
