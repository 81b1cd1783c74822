"""Live test progress: each check appears on the card the moment its progress message crosses
the gateway's live feed, in order, and the card ends with the verdict of the real test.

The tester is held stopped while the test waits, so the progress messages published here on
``bf.progress.<connection_id>.check`` (the subject the gateway relays) are the only ones; once
the tester is back it runs the test that was requested while it was away (a durable
command), and the card settles on that real verdict.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import nats

from bf_launch.stack import Stack
from bf_shared.subjects import progress_subject

from tests.e2e.dashboard.pages import Browsing, Sim, api_add_connection, register_in_page, wait_status

NAME = "KuCoin Spot Main"


def _publish(nats_url: str, subject: str, payload: dict[str, object]) -> None:
    async def send() -> None:
        nc = await nats.connect(nats_url)
        try:
            await nc.publish(subject, json.dumps(payload).encode())
            await nc.flush()
        finally:
            await nc.close()

    # Playwright's sync API owns this thread's event loop: publish from another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, send()).result(timeout=15)


def test_checks_appear_one_by_one_then_the_verdict(browsing: Browsing, stack: Stack, sim: Sim) -> None:
    b, page = browsing, browsing.page
    key = sim.key("kucoin", ["General", "Spot"], passphrase="live-phrase-1", ip_whitelist=("127.0.0.1",))
    register_in_page(b)
    connection_id = api_add_connection(b, stack.api_url, exchange="kucoin", name=NAME, creds=key)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    online = wait_status(b, NAME, "online")

    stack.stop_service("tester")
    try:
        with page.expect_response(lambda r: r.url.endswith(f"/connections/{connection_id}/test")) as answer:
            online.locator("[data-action=test]").click()
        test_id = answer.value.json()["test_id"]
        testing = wait_status(b, NAME, "testing")
        assert testing.locator(".badge").inner_text() == "Testing"
        assert testing.locator("[data-action=test]").is_disabled()
        rows = testing.locator(".check-row")
        assert rows.count() == 0
        assert "Waiting for the first results" in testing.locator("[data-testid=progress]").inner_text()

        finished = [("exchange_status", "ok"), ("api_key", "ok"), ("read", "ok")]
        for count, (name, status) in enumerate(finished, start=1):
            _publish(stack.nats_url, progress_subject(connection_id), {"test_id": test_id, "check": {"name": name, "status": status, "detail": ""}})
            testing.locator(f".check-row[data-check={name}]").wait_for()
            assert rows.count() == count, "one new row per finished check"
        assert [r.get_attribute("data-check") for r in rows.all()] == [name for name, _ in finished]
        assert testing.locator(".check-row[data-check=api_key] .name").inner_text() == "API key accepted"
        b.shot("01-checks-arriving")
    finally:
        stack.start_service("tester")

    done = wait_status(b, NAME, "online", timeout_ms=60_000)
    assert done.locator(".check-row").count() == 7
    b.shot("02-verdict")
