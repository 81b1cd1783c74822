"""Strategies on an Online connection: presets fill the form, mistakes are flagged as they are
typed (before any request), the list shows each strategy's state, pause and disable work.
While the strategies API answers 404 the section is not shown at all."""

from __future__ import annotations

from typing import Any, Literal

from bf_launch.stack import Stack
from bf_shared.strategy import PRESETS

from tests.e2e.dashboard.pages import Browsing, Sim, api_add_connection, register_in_page, wait_status

NAME = "KuCoin Spot Conservative"


def _online_connection(b: Browsing, stack: Stack, sim: Sim) -> Any:
    key = sim.key("kucoin", ["General", "Spot"], passphrase="strategy-phrase", ip_whitelist=("127.0.0.1",))
    register_in_page(b)
    api_add_connection(b, stack.api_url, exchange="kucoin", name=NAME, creds=key)
    b.page.reload()
    b.page.wait_for_selector("body[data-ready=true]")
    return wait_status(b, NAME, "online")


def _field(form: Any, name: str) -> Any:
    return form.locator(f"[name={name}]")


def test_enable_a_strategy_with_a_preset_then_pause_and_disable_it(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    online = _online_connection(b, stack, sim)
    section = online.locator("[data-testid=strategies]")
    section.wait_for()
    section.locator("[data-action=enable-strategy]").click()
    form = section.locator("form[data-form=strategy]")

    # A risk level fills every field with the server's own preset.
    levels: tuple[Literal["aggressive", "conservative"], ...] = ("aggressive", "conservative")
    for level in levels:
        _field(form, "risk_level").select_option(level)
        preset = PRESETS[level]
        assert float(_field(form, "base_order_quote").input_value()) == float(preset["base_order_quote"])
        assert float(_field(form, "max_adds").input_value()) == preset["reinforcement"]["max_adds"]
        assert float(_field(form, "step_pct").input_value()) == float(preset["reinforcement"]["step_pct"])
        assert float(_field(form, "take_profit_pct").input_value()) == float(preset["take_profit_pct"])
        assert _field(form, "exit").input_value() == preset["recovery_mode"]["exit"]

    # Mistakes are flagged inline while typing; nothing is sent.
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" and "/strategies" in r.url else None)
    _field(form, "pairs").fill("BTCUSDT")
    assert _field(form, "pairs").get_attribute("aria-invalid") == "true"
    assert "is not a pair such as BTC/USDT" in form.locator(f"#{_field(form, 'pairs').get_attribute('id')}-error").inner_text()
    _field(form, "margin_limit_quote").fill("5")
    assert "at least one base order" in form.inner_text()
    form.locator("button[type=submit]").click()
    assert requests == [], "an invalid form must not reach the API"
    b.shot("01-inline-validation")

    _field(form, "name").fill("BTC ETH Conservative")
    _field(form, "pairs").fill("btc/usdt, eth/usdt")
    _field(form, "margin_limit_quote").fill("800")
    assert _field(form, "pairs").get_attribute("aria-invalid") is None
    form.locator("button[type=submit]").click()
    row = section.locator(".strategy-row", has_text="BTC ETH Conservative")
    row.wait_for()
    assert row.get_attribute("data-status") in {"starting", "running"}
    assert "BTC/USDT, ETH/USDT" in row.inner_text()
    assert "Conservative" in row.inner_text()
    b.shot("02-enabled")

    row.get_by_role("button", name="Pause BTC ETH Conservative").click()
    section.locator(".strategy-row[data-status=paused]", has_text="paused by you").wait_for()
    row.get_by_role("button", name="Disable BTC ETH Conservative").click()
    section.locator(".strategy-row[data-status=disabled]").wait_for()
    b.shot("03-disabled")


def test_the_section_stays_hidden_while_the_strategies_api_is_absent(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    answered: list[str] = []

    def absent(route: Any) -> None:
        route.fulfill(status=404, content_type="application/json", body='{"error":{"code":"not_found","message":"No such route."}}')
        answered.append(route.request.url)

    page.route("**/api/v1/connections/*/strategies", absent)
    online = _online_connection(b, stack, sim)
    page.wait_for_function("() => true")  # let the page handle what it received
    assert answered, "the page must have asked for the strategies"
    page.wait_for_timeout(300)
    assert online.locator("[data-testid=strategies]").is_hidden()
    assert page.locator("#notices .is-error").count() == 0, "an absent API is not an error to show"
