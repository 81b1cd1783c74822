"""KuCoin signing: sign over timestamp+METHOD+raw target+body, encrypted passphrase, 5 s window."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

import ccxt
import pytest

from bf_sim.auth import RawRequest
from bf_sim.auth.kucoin import encrypt_passphrase, sign, verify
from bf_sim.clock import ManualClock
from bf_sim.config import KeyConfig, KucoinConfig
from bf_sim.errors import SimError
from bf_sim.state import ExchangeState

NOW = 1_700_000_000_000
KEY = "demo0123456789abcdef0000"
SECRET = "demo-1111-2222-3333-444455556666"
PASSPHRASE = "demo-passphrase"


def make_state(**key_fields: object) -> tuple[ExchangeState, ManualClock]:
    clock = ManualClock(NOW)
    fields: dict[str, object] = {
        "api_key": KEY,
        "secret": SECRET,
        "passphrase": PASSPHRASE,
        "permissions": ("General",),
    } | key_fields
    return ExchangeState("kucoin", KucoinConfig(keys=(KeyConfig.model_validate(fields),)), clock), clock


def signed_by_ccxt(
    path: str,
    api: str,
    method: str,
    params: dict[str, object],
    *,
    secret: str = SECRET,
    password: str = PASSPHRASE,
    futures: bool = False,
) -> RawRequest:
    cls = ccxt.kucoinfutures if futures else ccxt.kucoin
    ex = cls({"apiKey": KEY, "secret": secret, "password": password})
    ex.nonce = lambda: NOW
    signed = ex.sign(path, [api], method, dict(params))
    parts = urlsplit(signed["url"])
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return RawRequest(method, target, signed["body"] or "", signed["headers"], "127.0.0.1")


def code(err: SimError) -> object:
    assert isinstance(err.body, dict)
    return err.body["code"]


def b64_hmac(payload: str) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest()).decode()


def test_sign_covers_timestamp_method_raw_target_and_body() -> None:
    raw = signed_by_ccxt("accounts", "private", "GET", {"type": "trade", "currency": "USDT"})
    assert raw.target == "/api/v1/accounts?type=trade&currency=USDT"
    assert raw.headers["KC-API-SIGN"] == b64_hmac(f"{NOW}GET{raw.target}") == sign(SECRET, str(NOW), "GET", raw.target)
    assert raw.headers["KC-API-PASSPHRASE"] == b64_hmac(PASSPHRASE) == encrypt_passphrase(SECRET, PASSPHRASE)
    assert raw.headers["KC-API-KEY-VERSION"] == "2"


def test_post_body_is_part_of_the_signature() -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("hf/orders/test", "private", "POST", {"symbol": "BTC-USDT", "side": "buy"})
    assert raw.headers["KC-API-SIGN"] == b64_hmac(f"{NOW}POST/api/v1/hf/orders/test{raw.body}")
    assert verify(raw, state).api_key == KEY


def test_query_is_verified_as_sent_without_reencoding() -> None:
    """ccxt does not percent-encode KuCoin queries (rawencode); the server must not either."""
    state, _ = make_state()
    raw = signed_by_ccxt("orders", "futuresPrivate", "GET", {"symbol": "XBTUSDTM", "status": "active"}, futures=True)
    verify(raw, state)
    reencoded = RawRequest(raw.method, raw.target.replace("=", "%3D", 1), raw.body, raw.headers, raw.remote_ip)
    with pytest.raises(SimError) as exc:
        verify(reencoded, state)
    assert code(exc.value) == "400005"


@pytest.mark.parametrize(("skew_ms", "accepted"), [(5000, True), (-5000, True), (5001, False), (-5001, False)])
def test_timestamp_window_is_5s(skew_ms: int, accepted: bool) -> None:
    state, clock = make_state()
    raw = signed_by_ccxt("accounts", "private", "GET", {})
    clock.set(NOW + skew_ms)
    if accepted:
        verify(raw, state)
    else:
        with pytest.raises(SimError) as exc:
            verify(raw, state)
        assert (exc.value.status, code(exc.value)) == (401, "400002")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"secret": "demo-9999-9999-9999-999999999999"}, ("400005", 401)),  # signature is checked first
        ({"password": "demo-wrong-passphrase"}, ("400004", 401)),
    ],
)
def test_wrong_secret_or_passphrase(change: dict[str, Any], expected: tuple[str, int]) -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("accounts", "private", "GET", {}, **change)
    with pytest.raises(SimError) as exc:
        verify(raw, state)
    assert (code(exc.value), exc.value.status) == expected


def test_wrong_signature_with_right_passphrase_is_400005() -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("accounts", "private", "GET", {})
    tampered = RawRequest("GET", raw.target + "&x=1", "", raw.headers, raw.remote_ip)
    with pytest.raises(SimError) as exc:
        verify(tampered, state)
    assert (code(exc.value), exc.value.status) == ("400005", 401)


def test_unknown_key_missing_headers_and_ip() -> None:
    state, _ = make_state(ip_whitelist=["198.51.100.0/24"])
    raw = signed_by_ccxt("accounts", "private", "GET", {})
    with pytest.raises(SimError) as exc:
        verify(raw, state)
    assert (code(exc.value), exc.value.status) == ("400006", 403)
    unknown = RawRequest(
        "GET", raw.target, "", dict(raw.headers) | {"KC-API-KEY": "demoffffffffffffffffffff"}, "127.0.0.1"
    )
    with pytest.raises(SimError) as exc:
        verify(unknown, state)
    assert code(exc.value) == "400003"
    bare = RawRequest("GET", raw.target, "", {"KC-API-KEY": KEY}, "127.0.0.1")
    with pytest.raises(SimError) as exc:
        verify(bare, state)
    assert code(exc.value) == "400001"
