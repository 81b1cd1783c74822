"""MEXC signing: the simulator recomputes ccxt's HMACs exactly and refuses what MEXC refuses."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

import ccxt
import pytest

from bf_sim.auth import RawRequest
from bf_sim.auth.mexc import contract_param_string, contract_signature, spot_signature, verify_contract, verify_spot
from bf_sim.clock import ManualClock
from bf_sim.config import KeyConfig, MexcConfig
from bf_sim.errors import SimError
from bf_sim.state import ExchangeState

NOW = 1_700_000_000_000
KEY = "demoUnitKey0000001"
SECRET = "demo0123456789abcdef0123456789ab"
PERMS = ("SPOT_ACCOUNT_READ", "CONTRACT_ACCOUNT_READ")


def make_state(**key_fields: object) -> tuple[ExchangeState, ManualClock]:
    clock = ManualClock(NOW)
    fields: dict[str, object] = {"api_key": KEY, "secret": SECRET, "permissions": PERMS} | key_fields
    config = MexcConfig(keys=(KeyConfig.model_validate(fields),))
    return ExchangeState("mexc", config, clock), clock


def signed_by_ccxt(
    path: str, api: list[str], method: str, params: dict[str, object], secret: str = SECRET, recv_window: int = 5000
) -> RawRequest:
    """What unmodified ccxt would send at NOW (its nonce pinned), as the server receives it."""
    ex = ccxt.mexc({"apiKey": KEY, "secret": secret, "options": {"recvWindow": recv_window}})
    ex.nonce = lambda: NOW
    signed = ex.sign(path, api, method, dict(params))
    parts = urlsplit(signed["url"])
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return RawRequest(method, target, signed["body"] or "", signed["headers"] or {}, "127.0.0.1")


def error_code(err: SimError) -> object:
    assert isinstance(err.body, dict)
    return err.body["code"]


def test_spot_signature_is_hex_hmac_of_the_query_before_signature() -> None:
    raw = signed_by_ccxt("account", ["spot", "private"], "GET", {})
    query, _, signature = raw.raw_query.partition("&signature=")
    expected = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    assert signature == expected == spot_signature(SECRET, query)
    assert query == f"timestamp={NOW}&recvWindow=5000"


def test_ccxt_spot_request_is_accepted() -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("order/test", ["spot", "private"], "POST", {"symbol": "BTCUSDT", "side": "BUY"})
    assert verify_spot(raw, state).api_key == KEY


@pytest.mark.parametrize(
    ("skew_ms", "accepted"),
    [(0, True), (-999, True), (-1000, False), (5000, True), (5001, False)],
)
def test_spot_timestamp_window(skew_ms: int, accepted: bool) -> None:
    """Accept when timestamp < now + 1000 and now - timestamp <= recvWindow (5000); skew = server ahead."""
    state, clock = make_state()
    raw = signed_by_ccxt("account", ["spot", "private"], "GET", {})
    clock.set(NOW + skew_ms)
    if accepted:
        verify_spot(raw, state)
    else:
        with pytest.raises(SimError) as exc:
            verify_spot(raw, state)
        assert error_code(exc.value) == 700003


def test_spot_wrong_secret_is_700002() -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("account", ["spot", "private"], "GET", {}, secret="demoWRONGWRONGWRONGWRONGWRONG00")
    with pytest.raises(SimError) as exc:
        verify_spot(raw, state)
    assert (exc.value.status, error_code(exc.value)) == (400, 700002)


def test_spot_unknown_key_is_10072() -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("account", ["spot", "private"], "GET", {})
    raw = RawRequest(raw.method, raw.target, raw.body, {"X-MEXC-APIKEY": "demoNobodyKnowsMe1"}, raw.remote_ip)
    with pytest.raises(SimError) as exc:
        verify_spot(raw, state)
    assert error_code(exc.value) == 10072


def test_spot_ip_outside_whitelist_is_700006_naming_the_ip() -> None:
    state, _ = make_state(ip_whitelist=["10.0.0.0/8"])
    raw = signed_by_ccxt("account", ["spot", "private"], "GET", {})
    with pytest.raises(SimError) as exc:
        verify_spot(raw, state)
    assert error_code(exc.value) == 700006
    assert "127.0.0.1" in str(exc.value.body)


def test_spot_expired_key_is_refused() -> None:
    state, clock = make_state(expires_in_days=1)
    raw_now = signed_by_ccxt("account", ["spot", "private"], "GET", {})
    verify_spot(raw_now, state)
    clock.advance(86_400_000)
    ex = ccxt.mexc({"apiKey": KEY, "secret": SECRET})
    ex.nonce = lambda: clock.now_ms()
    signed = ex.sign("account", ["spot", "private"], "GET", {})
    parts = urlsplit(signed["url"])
    later = RawRequest("GET", f"{parts.path}?{parts.query}", "", signed["headers"], "127.0.0.1")
    with pytest.raises(SimError) as exc:
        verify_spot(later, state)
    assert error_code(exc.value) == 10072


def test_spot_recv_window_over_60s_is_700005() -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("account", ["spot", "private"], "GET", {}, recv_window=70000)
    with pytest.raises(SimError) as exc:
        verify_spot(raw, state)
    assert error_code(exc.value) == 700005


def test_contract_get_signs_key_time_and_sorted_query() -> None:
    raw = signed_by_ccxt("position/open_positions", ["contract", "private"], "GET", {"symbol": "BTC_USDT", "a": "1"})
    assert raw.raw_query == "a=1&symbol=BTC_USDT"
    payload = KEY + str(NOW) + "a=1&symbol=BTC_USDT"
    expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert raw.headers["Signature"] == expected
    # The server sorts too, so an unsorted query signs the same.
    assert contract_param_string("GET", "symbol=BTC_USDT&a=1", "") == "a=1&symbol=BTC_USDT"
    assert contract_signature(SECRET, KEY, str(NOW), "a=1&symbol=BTC_USDT") == expected


def test_contract_post_signs_the_raw_body() -> None:
    state, _ = make_state()
    raw = signed_by_ccxt("order/submit", ["contract", "private"], "POST", {"symbol": "BTC_USDT", "vol": 1})
    assert raw.body.startswith("{")
    expected = hmac.new(SECRET.encode(), (KEY + str(NOW) + raw.body).encode(), hashlib.sha256).hexdigest()
    assert raw.headers["Signature"] == expected
    assert verify_contract(raw, state).api_key == KEY


@pytest.mark.parametrize(("skew_ms", "accepted"), [(10_000, True), (-10_000, True), (10_001, False), (-10_001, False)])
def test_contract_window_is_10s(skew_ms: int, accepted: bool) -> None:
    state, clock = make_state()
    raw = signed_by_ccxt("account/assets", ["contract", "private"], "GET", {})
    clock.set(NOW + skew_ms)
    if accepted:
        verify_contract(raw, state)
    else:
        with pytest.raises(SimError) as exc:
            verify_contract(raw, state)
        assert (exc.value.status, error_code(exc.value)) == (200, 513)


def test_contract_errors_are_http_200_with_success_false() -> None:
    state, _ = make_state(ip_whitelist=["192.0.2.1"])
    bad_sig = signed_by_ccxt(
        "account/assets", ["contract", "private"], "GET", {}, secret="demoWRONGWRONGWRONGWRONGWRONG00"
    )
    with pytest.raises(SimError) as exc:
        verify_contract(bad_sig, state)
    assert exc.value.status == 200
    assert exc.value.body == {"success": False, "code": 602, "message": "Signature verification failed!"}
    good = signed_by_ccxt("account/assets", ["contract", "private"], "GET", {})
    with pytest.raises(SimError) as exc:
        verify_contract(good, state)
    assert error_code(exc.value) == 406
    unknown = RawRequest("GET", good.target, "", dict(good.headers) | {"ApiKey": "demoNobody"}, "127.0.0.1")
    with pytest.raises(SimError) as exc:
        verify_contract(unknown, state)
    assert error_code(exc.value) == 401
