"""The alerter as a real process on real NATS, delivering to a real webhook receiver.

Checks, end to end: an Online -> withdraw-enabled transition notifies once, signed; a 500
is retried; a redelivered event does not notify again; an undeliverable alert becomes a
dead letter; the audit trail gets the verdicts; /metrics shows all of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import nats
from aiohttp import web
from pydantic import SecretStr

from bf_shared import subjects
from bf_shared.bus import kv_bucket
from bf_shared.codes import TEXTS, ErrorCode
from bf_shared.messages import Permissions, TestError, TestFailed, TestPassed, TestResult, utcnow
from bf_shared.notifications import KV_NOTIFICATIONS, NotificationSettings, new_webhook_secret

from bf_alerter.adapters.webhook import verify


@dataclass
class Receiver:
    """A webhook endpoint on a free loopback port answering the scripted statuses in turn."""

    statuses: list[int]
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    runner: web.AppRunner | None = None

    async def hook(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), dict(request.headers)))
        return web.Response(status=self.statuses[min(len(self.received), len(self.statuses)) - 1])

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{token}", self.hook)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook/tok3nInPath"  # type: ignore[union-attr]


def verdict(cls: type, user: str, conn: str, code: ErrorCode | None) -> Any:
    now = utcnow()
    error = TestError(code=code, cause=TEXTS[code][0], remedy=TEXTS[code][1]) if code else None
    result = TestResult(test_id=f"t-{time.time_ns()}", status="failed" if code else "passed", started_at=now,
                        finished_at=now, checks=(), permissions=Permissions(read=True, trade=True, withdraw=bool(code)),
                        ip_restricted=True, error=error)
    return cls(connection_id=conn, user_id=user, exchange="mexc", result=result)


async def eventually(check: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check() if asyncio.iscoroutinefunction(check) else check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def sample(metrics: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if got == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_alert_fires_end_to_end_with_signature_retry_dedup_and_dead_letter(stack_factory: Callable[..., Any]) -> None:
    good, bad = Receiver(statuses=[500, 200]), Receiver(statuses=[503])
    await good.start()
    await bad.start()
    env = {"BACKFUTURE_ALLOW_PRIVATE_WEBHOOKS": "true", "BACKFUTURE_WEBHOOK_BACKOFF_S": "0.05",
           "BACKFUTURE_WEBHOOK_ATTEMPTS": "3"}
    stack = await asyncio.to_thread(stack_factory, services=["alerter"], service_env={"alerter": env})
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        secret = new_webhook_secret()
        kv = await kv_bucket(js, KV_NOTIFICATIONS)
        await kv.put("ua", NotificationSettings(user_id="ua", webhook_url=good.url, webhook_secret=SecretStr(secret)).to_kv())
        await kv.put("ub", NotificationSettings(user_id="ub", webhook_url=bad.url, webhook_secret=SecretStr(secret)).to_kv())

        async def send(subject: str, message: Any, msg_id: str | None = None) -> None:
            await js.publish(subject, message.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or message.message_id})

        await send(subjects.TEST_PASSED, verdict(TestPassed, "ua", "ca", None))
        withdraw = verdict(TestFailed, "ua", "ca", ErrorCode.WITHDRAW_ENABLED)
        await send(subjects.TEST_FAILED, withdraw)
        await eventually(lambda: len(good.received) == 2)

        bodies = {body for body, _ in good.received}
        assert len(bodies) == 1, "a retry re-sends the same bytes"
        body = bodies.pop()
        for _, headers in good.received:
            assert verify(secret, body, headers["X-Signature"])
        alert = json.loads(body)
        assert alert["rule"] == "withdraw_enabled" and alert["severity"] == "critical"
        assert alert["connection_id"] == "ca" and alert["source_event_id"] == withdraw.message_id
        assert headers["X-Alert-Id"] == alert["id"]

        # Redelivery of the same event (stored again under another Nats-Msg-Id): no second notification.
        await send(subjects.TEST_FAILED, withdraw, msg_id="replayed-" + withdraw.message_id)
        ops = stack.ops_url("alerter")
        async with aiohttp.ClientSession() as http:

            async def scrape() -> str:
                async with http.get(f"{ops}/metrics") as r:
                    return await r.text()

            async def replay_handled() -> bool:
                text = await scrape()
                return sample(text, "bf_alert_deliveries_total", channel="webhook", outcome="duplicate") >= 1

            await eventually(replay_handled)
            assert len(good.received) == 2

            # Always 503: three attempts, then a dead letter.
            await send(subjects.TEST_FAILED, verdict(TestFailed, "ub", "cb", ErrorCode.INVALID_KEY))
            dead = await kv_bucket(js, "bf_alert_dead_letters")

            async def dead_letter() -> Any:
                keys = await dead.keys() if len(bad.received) >= 3 else []
                return keys and (await dead.get(keys[0])).value

            letter = json.loads(await eventually(dead_letter))
            assert letter["attempts"] == 3 and letter["channel"] == "webhook"
            assert letter["target"].startswith("http://127.0.0.1:") and "tok3n" not in json.dumps(letter)
            assert len(bad.received) == 3

            text = await scrape()
        assert sample(text, "bf_events_consumed_total", service="alerter", subject="bf.evt.test.failed") >= 3
        assert sample(text, "bf_alert_deliveries_total", channel="webhook", outcome="delivered") == 1
        assert sample(text, "bf_alert_deliveries_total", channel="webhook", outcome="dead_lettered") == 1
        assert sample(text, "bf_webhook_attempts_total", outcome="server_error") == 4
        assert sample(text, "bf_alerts_raised_total", rule="withdraw_enabled") >= 1
        assert "tok3n" not in text and secret not in text

        # The audit projector recorded the verdicts under the owner's subjects.
        last = await js.get_last_msg(subjects.AUDIT_STREAM, "bf.audit.ua.test_failed")
        record = json.loads(last.data)
        assert record["record_id"] == withdraw.message_id and record["details"]["code"] == "withdraw_enabled"
        assert "tok3n" not in stack.logs_text() and secret not in stack.logs_text()
    finally:
        await nc.close()
        for rx in (good, bad):
            if rx.runner is not None:
                await rx.runner.cleanup()
