"""Telegram delivery (optional): the platform's bot messages the user's chat.

Enabled only when ``BACKFUTURE_TELEGRAM_BOT_TOKEN`` is set; the bootstrap logs at start-up
that Telegram is disabled otherwise. The bot token is part of every request URL, so the
URL is never logged and errors are described by status or exception type only.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from pydantic import SecretStr

from bf_shared.notifications import NotificationSettings

from bf_alerter.adapters.retry import Outcome, RetryPolicy, Sleep, deliver_with_retries, outcome_of_status
from bf_alerter.domain.alerts import Alert
from bf_alerter.ports import Channel, Delivery


class TelegramChannel(Channel):
    """Sends ``sendMessage`` to the chat id in the user's settings."""

    name = "telegram"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: SecretStr,
        policy: RetryPolicy,
        *,
        api_url: str = "https://api.telegram.org",
        timeout_s: float = 5.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._session = session
        self._token = token
        self._policy = policy
        self._api_url = api_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._sleep = sleep

    def target(self, settings: NotificationSettings) -> str | None:
        return "telegram" if settings.telegram_chat_id else None

    async def send(self, alert: Alert, settings: NotificationSettings) -> Delivery:
        url = f"{self._api_url}/bot{self._token.get_secret_value()}/sendMessage"
        body = json.dumps(
            {"chat_id": settings.telegram_chat_id, "text": alert.one_line(), "disable_web_page_preview": True}
        ).encode()

        async def attempt() -> tuple[Outcome, str]:
            try:
                async with self._session.post(
                    url, data=body, headers={"Content-Type": "application/json"}, timeout=self._timeout,
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    return outcome_of_status(response.status), f"HTTP {response.status}"
            except TimeoutError:
                return Outcome.TIMEOUT, "timeout"
            except aiohttp.ClientError as e:
                return Outcome.UNREACHABLE, f"unreachable ({type(e).__name__})"

        return await deliver_with_retries(attempt, self._policy, self._sleep)
