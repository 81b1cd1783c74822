"""Two verdicts that ask something different of the trader, on the real system.

* Withdrawal unknown (MEXC without key introspection): the card explains why the key is not
  used and offers an explicit confirmation; the button works only once the box is ticked,
  and the confirmation (the attestation route) brings the connection Online.
* Exchange in maintenance: the card says the system retries, and when; once the exchange is
  back the retry turns the connection Online without the trader doing anything.
"""

from __future__ import annotations

import re

import httpx

from bf_launch.stack import Stack

from tests.e2e.dashboard.pages import Browsing, Sim, api_add_connection, api_token, register_in_page, wait_status

MEXC_TRADE = ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "SPOT_DEAL_WRITE", "SPOT_WITHDRAW_READ"]


def test_withdraw_unknown_needs_an_explicit_confirmation(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    sim.settings("mexc", api_key_info_supported=False)  # MEXC then cannot tell about withdrawal
    key = sim.key("mexc", MEXC_TRADE, ip_whitelist=("127.0.0.1",))
    register_in_page(b)
    api_add_connection(b, stack.api_url, exchange="mexc", name="MEXC Spot Main", creds=key)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    awaiting = wait_status(b, "MEXC Spot Main", "awaiting")
    assert awaiting.locator(".badge").inner_text() == "Confirm withdrawal is off"
    panel = awaiting.locator("[data-testid=attestation]")
    assert "MEXC does not tell us whether this API key can withdraw funds" in panel.inner_text()
    confirm = panel.locator("[data-action=attest]")
    assert confirm.is_disabled(), "the confirmation must not be one click away"
    b.shot("01-awaiting")

    panel.get_by_label("I checked on the exchange: withdrawal is disabled for this key.").check()
    assert confirm.is_enabled()
    confirm.click()
    online = wait_status(b, "MEXC Spot Main", "online")
    assert online.locator(".check-row[data-check=withdraw_disabled][data-status=ok]").count() == 1
    assert online.locator("[data-testid=attestation]").count() == 0
    b.shot("02-online-after-confirmation")


def test_a_retry_is_announced_with_its_time_and_happens_by_itself(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    key = sim.key("kucoin", ["General", "Spot"], passphrase="pass-phrase-9", ip_whitelist=("127.0.0.1",))
    sim.conditions("kucoin", maintenance=True)
    register_in_page(b)
    connection_id = api_add_connection(b, stack.api_url, exchange="kucoin", name="KuCoin Spot Main", creds=key)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    retrying = wait_status(b, "KuCoin Spot Main", "retrying")
    assert retrying.locator(".badge").inner_text() == "Retrying"
    assert retrying.locator("[data-testid=error]").get_attribute("data-code") == "exchange_unavailable"
    announcement = retrying.locator("[data-testid=retry]").inner_text()
    # "Automatic retry (attempt 2) at Nov 22, 2026, 1:48:31 AM — in 8 sec." A slow machine may
    # be at a later attempt already; the number is the API's next attempt (or the one after,
    # when another retry failed between the page's read and ours).
    found = re.fullmatch(r"Automatic retry \(attempt (\d+)\) at (.+ [AP]M) — (.+)", announcement)
    assert found, announcement
    view = httpx.get(f"{stack.api_url}/connections/{connection_id}", headers={"Authorization": f"Bearer {api_token(b)}"}, timeout=10).json()
    assert int(found.group(1)) in (view["last_test"]["attempt"], view["last_test"]["attempt"] + 1)
    assert int(found.group(1)) >= 2
    b.shot("01-retry-announced")

    sim.conditions("kucoin", maintenance=False)
    online = wait_status(b, "KuCoin Spot Main", "online", timeout_ms=60_000)  # no click: the system retried
    assert online.locator("[data-testid=retry]").count() == 0
    b.shot("02-online-after-retry")
