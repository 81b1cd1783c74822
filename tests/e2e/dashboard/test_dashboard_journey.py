"""A trader's whole journey in the browser, on the real system.

Register → add a KuCoin key with a wrong passphrase → the cause and remedy, in French →
rotate to the right passphrase → Online (with the IP-whitelist warning and the platform's
IPs) → rotate to a key that can withdraw → Rejected → delete, after a confirmation that says
the secret is destroyed. Along the way: the duplicate name is refused with the API's
message, and the secret inputs are empty after every submit. Each step is screenshotted.

The secrets of the run are canaries: none may appear in anything the browser received
(HTML, JS, CSS, JSON, the live event stream), in the page, or in the browser's storage.
"""

from __future__ import annotations

import httpx

from bf_gateway.i18n import translate
from bf_launch.stack import Stack

from tests.e2e.dashboard.pages import EGRESS_IPS, Browsing, Sim, add_connection, api_token, card, register_in_page, wait_status

NAME = "KuCoin Spot Main"
PASSPHRASE = "right-passphrase-7"
KUCOIN_TRADE = ["General", "Spot"]


def _secret_inputs_empty(b: Browsing) -> None:
    for selector in ("input[name=secret]", "input[name=passphrase]", "input[name=api_key]"):
        for control in b.page.locator(selector).all():
            assert control.input_value() == "", f"{selector} still holds a value after submit"


def _assert_no_canary(b: Browsing, stack: Stack, canaries: list[str], connection_ids: list[str]) -> None:
    """No canary in any response the browser got, the DOM, storage, or the live stream."""
    seen = 0
    for response in b.responses:
        kind = response.headers.get("content-type", "")
        if kind.startswith("text/event-stream") or response.status in (204, 304):
            continue  # a live stream never ends (read below); 204/304 have no body
        body = response.body().decode("utf-8", errors="replace")
        seen += 1
        for canary in canaries:
            assert canary not in body, f"a secret was served by {response.url}"
    assert seen > 20, "the browser's responses were not recorded"
    served = {r.url.split("?")[0] for r in b.responses}
    assert any(u.endswith(".js") for u in served) and any(u.endswith(".html") or u.endswith("/") for u in served)
    assert any("/api/v1/connections" in u for u in served) and any(u.endswith(".json") for u in served)
    dom = b.page.content()
    storage = b.page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    for canary in canaries:
        assert canary not in dom and canary not in storage
    # The live feed the cards follow: its first frame is the whole connection.
    token = api_token(b)
    for connection_id in connection_ids:
        url = f"{stack.api_url}/connections/{connection_id}/events"
        with httpx.stream("GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as stream:
            assert stream.status_code == 200
            text = ""
            for chunk in stream.iter_text():
                text += chunk
                if "\n\n" in text:
                    break
        assert "event: connection" in text
        for canary in canaries:
            assert canary not in text


def test_trader_journey_in_three_languages(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    good = sim.key("kucoin", KUCOIN_TRADE, passphrase=PASSPHRASE)
    withdrawing = sim.key("kucoin", [*KUCOIN_TRADE, "Transfer"], passphrase=PASSPHRASE, ip_whitelist=("127.0.0.1",))
    canaries = [good["secret"], good["api_key"], PASSPHRASE, withdrawing["secret"], withdrawing["api_key"]]

    # 1. Register: the page signs the new account in and shows the empty connections page.
    register_in_page(b)
    page.wait_for_selector("[data-testid=empty]:visible")
    b.shot("01-registered")

    # 2. The add form: fields per exchange (passphrase only for KuCoin), the permission
    #    table with the platform's IPs, where to create the key, name suggestions.
    page.click("#add-connection")
    page.select_option("select[name=exchange]", "mexc")
    assert page.locator("input[name=passphrase]").count() == 0
    page.select_option("select[name=exchange]", "kucoin")
    assert page.locator("input[name=passphrase]").get_attribute("type") == "password"
    assert page.locator("input[name=secret]").get_attribute("type") == "password"
    table = page.locator("[data-testid=permission-table]")
    assert table.locator("tr[data-permission=withdraw] .mark.no").count() == 1
    assert table.locator("tr[data-permission=read] .mark.yes").count() == 1
    for ip in EGRESS_IPS:
        assert ip in table.inner_text()
    assert "kucoin.com" in page.locator("[data-testid=where] a").get_attribute("href")
    page.locator("input[name=markets][value=futures]").check()
    assert "KuCoin Spot Futures Conservative" in page.locator(".chips").inner_text()
    page.locator("input[name=markets][value=futures]").uncheck()
    b.shot("02-add-form")

    # 3. A wrong passphrase: the checks come back and the card says why and what to do.
    page.get_by_role("button", name=NAME, exact=True).click()  # the "KuCoin Spot Main" suggestion
    assert page.input_value("input[name=name]") == NAME
    page.fill("input[name=api_key]", good["api_key"])
    page.fill("input[name=secret]", good["secret"])
    page.fill("input[name=passphrase]", "not-the-passphrase")
    page.click("form[data-form=add] button[type=submit]")
    failed = wait_status(b, NAME, "failed")
    assert failed.locator("[data-testid=error]").get_attribute("data-code") == "invalid_passphrase"
    assert failed.locator(".check-row[data-check=api_key][data-status=failed]").count() == 1
    assert failed.locator("[data-testid=masked-key]").inner_text() == f"{good['api_key'][:4]}…{good['api_key'][-4:]}"
    b.shot("03-failed-en")

    # 4. The same name again is refused with the API's message; the secrets are cleared.
    add_connection(b, exchange="kucoin", name=NAME, creds={**good, "passphrase": PASSPHRASE})
    name_input = page.locator("input[name=name]")
    page.wait_for_selector("input[name=name][aria-invalid=true]")
    assert f"You already have a connection named “{NAME}”." in page.locator("[data-testid=form-error]").inner_text()
    _secret_inputs_empty(b)
    b.shot("04-duplicate-name")
    name_input.fill("unused")
    page.click("#nav-connections")

    # 5. French: the page, and the API's cause and remedy, follow the chosen language.
    page.select_option("#lang-select", "fr")
    page.wait_for_selector("html[lang=fr]")
    failed = wait_status(b, NAME, "failed")
    cause, remedy = translate("invalid_passphrase", "fr")  # type: ignore[misc]
    assert failed.locator("[data-testid=cause]").inner_text() == cause
    assert failed.locator("[data-testid=remedy]").inner_text() == remedy
    assert failed.locator(".badge").inner_text() == "Échec"
    assert failed.get_by_role("button", name="Relancer le test").is_visible()
    b.shot("05-failed-fr")

    # 6. Rotate to the right passphrase: Online, with the no-whitelist warning and the IPs.
    failed.locator("[data-action=rotate]").click()
    form = failed.locator("form[data-form=rotate]")
    form.locator("input[name=api_key]").fill(good["api_key"])
    form.locator("input[name=secret]").fill(good["secret"])
    form.locator("input[name=passphrase]").fill(PASSPHRASE)
    form.locator("button[type=submit]").click()
    online = wait_status(b, NAME, "online")
    assert online.locator(".badge").inner_text() == "En ligne"
    warning = online.locator("[data-testid=warning][data-code=no_ip_whitelist]")
    for ip in EGRESS_IPS:
        assert ip in warning.locator("[data-testid=ips]").inner_text()
    _secret_inputs_empty(b)
    b.shot("06-online-fr")

    # 7. A key that can withdraw is rejected, never Online.
    online.locator("[data-action=rotate]").click()
    form = online.locator("form[data-form=rotate]")
    form.locator("input[name=api_key]").fill(withdrawing["api_key"])
    form.locator("input[name=secret]").fill(withdrawing["secret"])
    form.locator("input[name=passphrase]").fill(PASSPHRASE)
    form.locator("button[type=submit]").click()
    rejected = wait_status(b, NAME, "rejected")
    assert rejected.locator(".badge").inner_text() == "Refusée — retrait activé"
    cause, remedy = translate("withdraw_enabled", "fr")  # type: ignore[misc]
    assert rejected.locator("[data-testid=cause]").inner_text() == cause
    assert rejected.locator("[data-testid=remedy]").inner_text() == remedy
    b.shot("07-rejected-fr")

    # Before it is gone: nothing the browser received held a secret.
    connection_id = rejected.get_attribute("data-connection-id")
    assert connection_id
    _assert_no_canary(b, stack, canaries, [connection_id])

    # 8. Delete, after a confirmation saying the secret is destroyed.
    rejected.locator("[data-action=delete]").click()
    dialog = page.locator("dialog[open]")
    assert "Le secret de l'API est détruit" in dialog.inner_text()
    assert dialog.evaluate("d => d.contains(document.activeElement)"), "focus must move into the dialog"
    b.shot("08-delete-confirm-fr")
    dialog.get_by_role("button", name="Supprimer et détruire le secret").click()
    card(b, NAME).wait_for(state="detached")
    page.wait_for_selector("[data-testid=empty]:visible")
    assert "supprimée" in page.locator("#notices").inner_text()
    b.shot("09-deleted-fr")
    gone = httpx.get(f"{stack.api_url}/connections/{connection_id}", headers={"Authorization": f"Bearer {api_token(b)}"})
    assert gone.status_code == 404
