"""The exchange origin override reaches every REST host ccxt uses, paths unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import pytest

from bf_connector.exchanges.base import ClientOptions, build_client, override_urls

from .fakes import canary_credentials

ORIGIN = "http://127.0.0.1:9101"


def _leaves(api: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(api, dict):
        for key, value in api.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(api, str):
        yield path, api


@pytest.mark.parametrize("cls", [ccxt_async.mexc, ccxt_async.kucoin, ccxt_async.kucoinfutures])
async def test_every_url_in_urls_api_goes_to_the_origin_with_its_path(cls: type[ccxt_async.Exchange]) -> None:
    original = cls().urls["api"]
    client = build_client(cls, canary_credentials(), ClientOptions(origin=ORIGIN))
    try:
        moved = dict(_leaves(client.urls["api"]))
        before = dict(_leaves(original))
        assert moved.keys() == before.keys() and len(before) >= 4
        for where, url in before.items():
            new = urlsplit(moved[where])
            assert (new.scheme, new.netloc) == ("http", "127.0.0.1:9101"), where
            assert new.path == urlsplit(url).path, where
    finally:
        await client.close()


def test_mexc_nested_layout_is_walked() -> None:
    api = ccxt_async.mexc().urls["api"]
    moved = override_urls(api, ORIGIN)
    assert moved["contract"]["private"] == "http://127.0.0.1:9101/api/v1/private"
    assert moved["spot2"]["public"] == "http://127.0.0.1:9101/open/api/v2"
    assert moved["broker"]["private"] == "http://127.0.0.1:9101/api/v3/broker"


def test_kucoin_flat_layout_including_futures_hosts() -> None:
    moved = override_urls(ccxt_async.kucoin().urls["api"], ORIGIN)
    assert moved["futuresPrivate"] == ORIGIN
    assert moved["webExchange"] == ORIGIN + "/_api"


def test_origin_path_prefix_is_kept_and_websockets_are_left_alone() -> None:
    moved = override_urls({"rest": "https://api.x.com/api/v1", "ws": "wss://ws.x.com/stream"}, "http://sim:1/mexc/")
    assert moved == {"rest": "http://sim:1/mexc/api/v1", "ws": "wss://ws.x.com/stream"}


async def test_without_override_the_real_hosts_stay() -> None:
    client = build_client(ccxt_async.kucoin, canary_credentials(), ClientOptions())
    try:
        assert client.urls["api"]["futuresPrivate"] == "https://api-futures.kucoin.com"
    finally:
        await client.close()


async def test_client_settings_are_applied() -> None:
    client = build_client(
        ccxt_async.kucoin, canary_credentials(), ClientOptions(enable_rate_limit=True, timeout_s=3.5)
    )
    try:
        assert client.enableRateLimit is True
        assert client.timeout == 3500
        assert client.password == "canaryPASSPHRASE-42"
    finally:
        await client.close()
