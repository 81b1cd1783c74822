"""Webhook delivery: signed JSON POST with retries, and an SSRF guard.

The receiver verifies ``X-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw request
body keyed with the user's webhook secret (:func:`sign`), and de-duplicates on ``X-Alert-Id``
(equal to the body's ``id``): the alerter delivers at least once and the same alert keeps
the same id and body across retries and redeliveries.

User-supplied URLs are untrusted: unless ``allow_private`` (local development and tests),
a target that is, or resolves to, a loopback, private, link-local or otherwise non-public
address is refused — checked on every connection by the resolver, so DNS rebinding between
a check and the request cannot slip through. Redirects are not followed. Errors are
described by status or exception type only: a URL's path or query may carry a token, so it
never reaches a log line, a dead letter or a metric label.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from prometheus_client import Counter, Histogram

from bf_shared.notifications import NotificationSettings

from bf_alerter.adapters.retry import Outcome, RetryPolicy, Sleep, deliver_with_retries, outcome_of_status
from bf_alerter.domain.alerts import Alert
from bf_alerter.ports import Channel, Delivery

WEBHOOK_ATTEMPTS = Counter("bf_webhook_attempts_total", "Webhook POST attempts", ["outcome"])
WEBHOOK_SECONDS = Histogram("bf_webhook_request_seconds", "Webhook POST latency", ["outcome"])

SIGNATURE_HEADER = "X-Signature"
USER_AGENT = "BackFuture-Alerter/1"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: constant-time comparison of the expected and given signature."""
    return hmac.compare_digest(sign(secret, body), header)


def describe_target(url: str) -> str:
    """Scheme and host of ``url`` (never path, query or credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def is_public(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class BlockedTarget(OSError):
    """The webhook host resolves only to non-public addresses."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves like the default resolver, then drops every non-public address."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = [r for r in await self._inner.resolve(host, port, family) if is_public(r["host"])]
        if not results:
            raise BlockedTarget(f"{host} resolves to no public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


class WebhookChannel(Channel):
    """Posts alerts to the user's webhook URL."""

    name = "webhook"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: RetryPolicy,
        *,
        timeout_s: float = 5.0,
        allow_private: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._session = session
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._allow_private = allow_private
        self._sleep = sleep

    @staticmethod
    def make_session(allow_private: bool) -> aiohttp.ClientSession:
        """A session whose connections can only reach public addresses (unless allowed)."""
        connector = aiohttp.TCPConnector(resolver=None if allow_private else PublicOnlyResolver())
        return aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})

    def target(self, settings: NotificationSettings) -> str | None:
        if not settings.webhook_url or settings.webhook_secret is None:
            return None
        return describe_target(settings.webhook_url)

    async def send(self, alert: Alert, settings: NotificationSettings) -> Delivery:
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        url = settings.webhook_url
        body = alert.webhook_body()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(settings.webhook_secret.get_secret_value(), body),
            "X-Alert-Id": alert.alert_id,
        }
        host = urlsplit(url).hostname or ""
        if not self._allow_private and _is_ip(host) and not is_public(host):
            WEBHOOK_ATTEMPTS.labels(Outcome.BLOCKED.value).inc()
            return Delivery(ok=False, attempts=1, error="blocked: the webhook address is not public")

        async def attempt() -> tuple[Outcome, str]:
            start = time.perf_counter()
            outcome, detail = await self._post(url, body, headers)
            WEBHOOK_ATTEMPTS.labels(outcome.value).inc()
            WEBHOOK_SECONDS.labels(outcome.value).observe(time.perf_counter() - start)
            return outcome, detail

        return await deliver_with_retries(attempt, self._policy, self._sleep)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[Outcome, str]:
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                await response.read()
                return outcome_of_status(response.status), f"HTTP {response.status}"
        except TimeoutError:
            return Outcome.TIMEOUT, "timeout"
        except aiohttp.ClientConnectorError as e:
            if isinstance(e.os_error, BlockedTarget):
                return Outcome.BLOCKED, "blocked: the webhook host is not public"
            return Outcome.UNREACHABLE, f"unreachable ({type(e).__name__})"
        except aiohttp.ClientError as e:
            return Outcome.UNREACHABLE, f"unreachable ({type(e).__name__})"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
