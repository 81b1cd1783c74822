"""Live test progress, the real flow: the connector reports each probe as it finishes, the
tester turns it into a check on ``bf.progress.<connection_id>.check``, the gateway relays it to
the page, and the card lists the checks one by one before the verdict.

The simulator makes the probes finish at visibly different times: every call to the exchange
is slowed a little, and the key's signed calls more. The public status probe ends first, the
signed key and balance probes next, the test order (two signed calls in a row) last. A script
in the page notes when each row appears and what the card said then, so the order is checked
as the user saw it, whatever the pace of the test runner.
"""

from __future__ import annotations

from typing import Any

import httpx

from bf_launch.stack import Stack

from tests.e2e.dashboard.pages import Browsing, Sim, api_add_connection, card, register_in_page, wait_status

NAME = "KuCoin Spot Main"
EXCHANGE_LATENCY_MS = 800  # every call, public ones included
KEY_LATENCY_MS = 1200  # on top, for each signed call of the key

# Notes, in the card, every check row added (first appearance only) and the placeholder.
RECORDER = """(el) => {
  const list = el.querySelector(".check-list");
  const log = [];
  const t0 = performance.now();
  const seen = new Set();
  new MutationObserver((mutations) => {
    for (const m of mutations) for (const node of m.addedNodes) {
      if (!(node instanceof HTMLElement)) continue;
      const entry = { t: performance.now() - t0, status: el.dataset.status };
      if (node.dataset.placeholder) log.push({ ...entry, row: "waiting" });
      else if (node.dataset.check && !seen.has(node.dataset.check)) {
        seen.add(node.dataset.check);
        log.push({ ...entry, row: node.dataset.check, state: node.dataset.status });
      }
    }
  }).observe(list, { childList: true });
  window.__rows = log;
}"""


def _slow_key(sim_url: str, api_key: str) -> None:
    response = httpx.patch(
        f"{sim_url}/__sim/keys/{api_key}", json={"conditions": {"latency_ms": KEY_LATENCY_MS}}, timeout=10
    )
    assert response.status_code == 200, response.text


def test_checks_appear_one_by_one_as_the_probes_finish_then_the_verdict(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    key = sim.key("kucoin", ["General", "Spot"], passphrase="live-phrase-1", ip_whitelist=("127.0.0.1",))
    register_in_page(b)
    api_add_connection(b, stack.api_url, exchange="kucoin", name=NAME, creds=key)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    online = wait_status(b, NAME, "online")

    sim.conditions("kucoin", latency_ms=EXCHANGE_LATENCY_MS)
    _slow_key(stack.sim_urls["kucoin"], key["api_key"])
    online.evaluate(RECORDER)
    online.locator("[data-action=test]").click()
    testing = wait_status(b, NAME, "testing")
    assert testing.locator(".badge").inner_text() == "Testing"
    assert testing.locator("[data-action=test]").is_disabled()
    testing.locator(".check-row[data-check=api_key]").wait_for(timeout=30_000)
    b.shot("01-checks-arriving")

    done = wait_status(b, NAME, "online", timeout_ms=60_000)
    assert done.locator(".check-row").count() == 7
    b.shot("02-verdict")

    log: list[dict[str, Any]] = page.evaluate("window.__rows")
    rows = [entry for entry in log if entry["row"] != "waiting"]
    order = [entry["row"] for entry in rows]
    assert log[0]["row"] == "waiting", f"the list starts empty, waiting for results: {log}"
    # The public status call first, the signed reads next, the test order after them; the
    # checks only the verdict can word (withdrawal, whitelist, the unrequested futures) last.
    assert order[0] == "exchange_status", order
    assert set(order[1:3]) == {"api_key", "read"}, order
    assert order[3] == "trade", order
    assert set(order[4:]) == {"withdraw_disabled", "futures", "ip_whitelist"}, order
    assert all(entry["status"] == "testing" for entry in rows), "every row arrived while the test ran"
    assert all(entry["state"] == "ok" for entry in rows[:4]), rows
    at = {entry["row"]: entry["t"] for entry in rows}
    # One by one, not all at once: the test order's row came well after the status row.
    assert at["trade"] - at["exchange_status"] > 1000, at
    assert card(b, NAME).locator(".check-row[data-check=futures]").get_attribute("data-status") == "skipped"
