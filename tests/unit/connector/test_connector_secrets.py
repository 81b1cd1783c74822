"""Canary: key, secret and passphrase never leave the connector.

A hostile exchange echoes everything it receives (query with signature, auth headers) and the
canary secret itself into its error answers. Whatever the venue does with that, the canaries
must not appear in the ProbeReply JSON, an exception's text, a log record (raw, before any
redaction) or a metric.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from bf_shared.logs import configure_logging
from bf_shared.messages import ProbeRequest
from bf_shared.vault import FakeVault

from bf_connector.clock import SystemClock
from bf_connector.errors import ExchangeError
from bf_connector.exchanges import venue_for
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.handlers import handle_probe
from bf_connector.metrics import ConnectorMetrics

from .fakes import CANARIES, CANARY_PASSPHRASE, CANARY_SECRET, canary_credentials


def _echo(request: web.Request) -> str:
    return " ".join(
        [
            f"target={request.path_qs}",
            *(f"{name}={value}" for name, value in request.headers.items()),
            f"secret={CANARY_SECRET}",
            f"raw-secret {CANARY_SECRET} raw-passphrase {CANARY_PASSPHRASE}",
        ]
    )


async def _mexc(request: web.Request) -> web.Response:
    if request.path.startswith("/api/v1/"):
        return web.json_response({"success": False, "code": 602, "message": _echo(request)})
    if request.path.endswith("/ping"):
        return web.Response(status=502, text=f"<html>{_echo(request)}</html>", content_type="text/html")
    return web.json_response({"code": 700002, "msg": _echo(request)}, status=400)


async def _kucoin(request: web.Request) -> web.Response:
    if request.path.endswith("/status"):
        return web.Response(status=403, text=f"<html>{_echo(request)}</html>", content_type="text/html")
    return web.json_response({"code": "400005", "msg": _echo(request)}, status=401)


@pytest.fixture
async def hostile() -> AsyncIterator[dict[str, str]]:
    runners, urls = [], {}
    for name, handler in (("mexc", _mexc), ("kucoin", _kucoin)):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        urls[name] = f"http://127.0.0.1:{port}"
        runners.append(runner)
    yield urls
    for runner in runners:
        await runner.cleanup()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.texts.append(text)


@pytest.fixture
def raw_logs() -> AsyncIterator[_Capture]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("ccxt").level)
    configure_logging("connector", "DEBUG")  # production logging, at its most verbose
    capture = _Capture()
    root.handlers.insert(0, capture)  # first: sees records before any redacting filter
    yield capture  # type: ignore[misc]
    root.handlers[:], _, _ = saved
    root.setLevel(saved[1])
    logging.getLogger("ccxt").setLevel(saved[2])


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
async def test_canaries_never_leave_the_connector(exchange: str, hostile: dict[str, str], raw_logs: _Capture) -> None:
    registry = CollectorRegistry()
    vault = FakeVault()
    await vault.put("c1", canary_credentials())
    venue = venue_for(exchange)
    clients = ClientFactory(
        venue, ClientOptions(enable_rate_limit=False, timeout_s=5, origin=hostile[exchange]),
        metrics=ConnectorMetrics(registry), clock=SystemClock(),
    )
    try:
        reply = await handle_probe(
            ProbeRequest(test_id="t", connection_id="c1", exchange=exchange, markets=("spot", "futures")),
            reader=vault, clients=clients, clock=SystemClock(), metrics=ConnectorMetrics(CollectorRegistry()),
        )
        texts = [reply.model_dump_json()]
        assert any(not o.ok for o in reply.outcomes), "the hostile exchange must have failed the probes"
        async with clients.lease("c1", None, vault) as session:
            for method, futures in (("spotPrivateGetAccount", False), ("privateGetAccounts", False),
                                    ("contractPrivateGetAccountAssets", False), ("futuresPrivateGetAccountOverview", True),
                                    ("fetch_status", False)):
                if not hasattr(session.client(futures=futures), method):
                    continue
                with pytest.raises(ExchangeError) as caught:
                    await session.call(method, futures=futures)
                texts.append(str(caught.value))
                texts.append(repr(caught.value.error))
    finally:
        await clients.aclose()
    texts += raw_logs.texts
    texts.append(generate_latest(registry).decode())
    assert len(texts) > 3
    for text in texts:
        for canary in CANARIES:
            assert canary not in text
        assert "signature=" not in text.lower() or "[REDACTED]" in text
