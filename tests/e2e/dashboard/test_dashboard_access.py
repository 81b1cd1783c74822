"""Accessible basics, measured in the browser: every control has a label, the whole journey
works with the keyboard alone and the focus is always visible, text contrast meets WCAG AA
in both colour schemes, and nothing overflows a phone-width screen."""

from __future__ import annotations

from typing import Any

import pytest

from bf_launch.stack import Stack

from tests.e2e.dashboard.pages import PASSWORD, SCREENSHOTS, Browsing, Sim, api_add_connection, card, focus_by_tab, register_in_page, wait_status

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(e => e.type !== 'hidden' && e.checkVisibility())
  .filter(e => {
    const labelled = [...(e.labels || [])].some(l => l.textContent.trim());
    const named = (e.getAttribute('aria-label') || '').trim() || e.getAttribute('aria-labelledby');
    const text = e.tagName === 'BUTTON' && e.textContent.trim();
    return !(labelled || named || text);
  })
  .map(e => e.outerHTML.slice(0, 100))"""

# WCAG 2.1 contrast of every visible text against its composited background.
LOW_CONTRAST = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const over = (t, b) => ({r: t.r * t.a + b.r * (1 - t.a), g: t.g * t.a + b.g * (1 - t.a), b: t.b * t.a + b.b * (1 - t.a), a: 1});
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => { const chain = []; for (let e = el; e; e = e.parentElement) chain.push(e);
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (const e of chain.reverse()) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) bg = over(c, bg); }
    return bg; };
  const problems = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    if (el.closest('[disabled]')) continue;  // WCAG exempts inactive controls
    const style = getComputedStyle(el);
    const color = parse(style.color);
    if (!color) { problems.push({text: el.textContent.trim().slice(0, 40), color: style.color}); continue; }
    const bg = background(el); const fg = over(color, bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize); const bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) problems.push({text: el.textContent.trim().slice(0, 40), ratio: ratio.toFixed(2), needed});
  }
  return problems;
}"""

FOCUS_RING = """() => { const e = document.activeElement; if (!e || e === document.body) return 'nothing focused';
  const s = getComputedStyle(e);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 ? '' : `no visible focus on ${e.outerHTML.slice(0, 80)}`; }"""


def _populated(b: Browsing, stack: Stack, sim: Sim) -> None:
    """An account with an Online connection (with a warning) and a failed one."""
    register_in_page(b)
    good = sim.key("kucoin", ["General", "Spot"], passphrase="phrase-ok-12")
    api_add_connection(b, stack.api_url, exchange="kucoin", name="KuCoin Spot Main", creds=good)
    other = sim.key("kucoin", ["General", "Spot"], passphrase="phrase-ok-34")
    api_add_connection(b, stack.api_url, exchange="kucoin", name="KuCoin Spot Moderate", creds={**other, "passphrase": "wrong"})
    b.page.reload()
    b.page.wait_for_selector("body[data-ready=true]")
    wait_status(b, "KuCoin Spot Main", "online")
    wait_status(b, "KuCoin Spot Moderate", "failed")


def test_every_control_has_a_label(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    b.open("#/login")
    assert page.evaluate(UNLABELLED) == []
    b.open("#/register")
    assert page.evaluate(UNLABELLED) == []
    _populated(b, stack, sim)
    online = card(b, "KuCoin Spot Main")
    online.locator("[data-action=rename]").click()
    card(b, "KuCoin Spot Moderate").locator("[data-action=rotate]").click()
    online.locator("[data-action=enable-strategy]").click()
    online.locator("form[data-form=strategy]").wait_for()
    assert page.evaluate(UNLABELLED) == []
    page.click("#add-connection")
    page.select_option("select[name=exchange]", "kucoin")
    assert page.evaluate(UNLABELLED) == []


def test_the_journey_works_with_the_keyboard_alone(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    key = sim.key("kucoin", ["General", "Spot"], passphrase="keyboard-phrase", ip_whitelist=("127.0.0.1",))
    email = register_in_page(b)
    page.click("#logout")
    page.wait_for_selector("#auth-title")
    rings: list[str] = []

    def tab_to(selector: str) -> None:
        focus_by_tab(b, selector)
        rings.append(page.evaluate(FOCUS_RING))

    # The login form has the focus; type, Tab, type, Enter.
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#connections-title")

    tab_to("#add-connection")
    page.keyboard.press("Enter")
    page.wait_for_selector("form[data-form=add]")
    assert page.evaluate("document.activeElement.name") == "exchange"
    while page.input_value("select[name=exchange]") != "kucoin":
        page.keyboard.press("ArrowDown")
    tab_to("input[name=name]")
    page.keyboard.type("Keyboard Only")
    for name, value in key.items():
        tab_to(f"input[name={name}]")
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    wait_status(b, "Keyboard Only", "online")

    # Delete: Escape cancels and gives the focus back; Enter on the confirm button deletes.
    tab_to("[data-action=delete]")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog[open]")
    assert page.evaluate("document.activeElement.textContent") == "Cancel", "the safe choice has the focus"
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog", state="detached")
    assert page.evaluate("document.activeElement.dataset.action") == "delete"
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    rings.append(page.evaluate(FOCUS_RING))
    page.keyboard.press("Enter")
    card(b, "Keyboard Only").wait_for(state="detached")
    assert [r for r in rings if r] == [], "the focus must always be visible"


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_text_contrast_meets_wcag_aa(browser: Any, stack: Stack, sim: Sim, scheme: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme, locale="en-US")
    try:
        page = context.new_page()
        b = Browsing(page=page, base_url=stack.gateway_url, test_name=f"contrast-{scheme}")
        b.open("#/login")
        assert page.evaluate(LOW_CONTRAST) == []
        _populated(b, stack, sim)
        card(b, "KuCoin Spot Main").locator("summary").click()  # unfold the passed checks too
        assert page.evaluate(LOW_CONTRAST) == []
        b.shot("connections")
        page.click("#add-connection")
        page.select_option("select[name=exchange]", "kucoin")
        assert page.evaluate(LOW_CONTRAST) == []
    finally:
        context.close()


def test_it_works_on_a_phone_width_screen(browser: Any, stack: Stack, sim: Sim) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme="dark", locale="en-US", has_touch=True)
    overflow = "document.documentElement.scrollWidth - window.innerWidth"
    try:
        page = context.new_page()
        b = Browsing(page=page, base_url=stack.gateway_url, test_name="phone")
        b.open("#/login")
        assert page.evaluate(overflow) <= 0
        _populated(b, stack, sim)
        assert page.evaluate(overflow) <= 0
        assert page.locator("#logout").is_visible() and page.locator("#add-connection").is_visible()
        for name in ("KuCoin Spot Main", "KuCoin Spot Moderate"):
            shown = card(b, name)
            for part in (".card-title", ".badge", "[data-testid=masked-key]", "[data-action=delete]"):
                assert shown.locator(part).is_visible(), f"{part} of {name} is not shown on a phone"
            box = shown.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert card(b, "KuCoin Spot Moderate").locator("[data-testid=remedy]").is_visible()
        b.shot("connections")
        page.click("#add-connection")
        page.select_option("select[name=exchange]", "kucoin")
        assert page.evaluate(overflow) <= 0
        b.shot("add-form")
    finally:
        context.close()
    assert (SCREENSHOTS / "phone-connections.png").exists()
