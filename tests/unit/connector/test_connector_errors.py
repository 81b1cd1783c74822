"""Error classification: every exchange code we rely on, raised the way ccxt raises it.

Each case feeds an HTTP answer into a real (hooked) ccxt client's ``handle_errors`` — the same
call ccxt's ``fetch`` makes — and translates whatever ccxt raises at the connector's boundary.
So the table proves three things at once: ccxt does raise for that answer, the hook attached
the raw response, and the venue classifies on the exchange's own code.
"""

from __future__ import annotations

import json
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from bf_shared.codes import ErrorCode
from bf_shared.logs import register_secret
from bf_shared.messages import ProbeError

from bf_connector.errors import RawResponse, retry_after_seconds, sanitise, should_retry, translate
from bf_connector.exchanges.base import Venue, hooked
from bf_connector.exchanges.kucoin import Kucoin
from bf_connector.exchanges.mexc import Mexc

from .fakes import CANARIES, CANARY_KEY, CANARY_SECRET, FakeClock

NOW = 1_700_000_000.0
SPOT = "https://api.mexc.com/api/v3/account?timestamp=1&recvWindow=5000&signature=ab12"
CONTRACT = "https://api.mexc.com/api/v1/private/account/assets"
KUCOIN = "https://api.kucoin.com/api/v1/accounts?type=trade"
KUCOIN_FUTURES = "https://api-futures.kucoin.com/api/v1/account-overview?currency=USDT"
HTML_403 = "<html><head><title>403 Forbidden</title></head><body>cloudflare</body></html>"
HTML_502 = "<html><head><title>502 Bad Gateway</title></head></html>"


def _raise_like_ccxt(
    venue: Venue, ccxt_class: type[ccxt_async.Exchange], status: int, url: str, body: Any, headers: dict[str, str]
) -> ProbeError | None:
    client = hooked(ccxt_class)({"apiKey": CANARY_KEY, "secret": CANARY_SECRET, "password": "pw-canary"})
    text = body if isinstance(body, str) else json.dumps(body)
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              418: "I'm a teapot", 429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable"}[status]
    try:
        client.handle_errors(status, reason, url, "GET", headers, text, client.parse_json(text), {}, None)
    except Exception as e:
        classify = venue.classify_raw_with(FakeClock(NOW), (CANARY_KEY, CANARY_SECRET))
        return translate(e, classify, exchange_id=venue.id).error
    return None


MEXC_CASES = [
    # spot v3: HTTP 4xx with {"code","msg"}
    (400, SPOT, {"code": 10072, "msg": "Api key info invalid"}, {}, ErrorCode.INVALID_KEY, "10072"),
    (400, SPOT, {"code": 700001, "msg": "API-key format invalid."}, {}, ErrorCode.INVALID_KEY, "700001"),
    (400, SPOT, {"code": 700002, "msg": "Signature for this request is not valid."}, {}, ErrorCode.INVALID_KEY, "700002"),
    (400, SPOT, {"code": 700003, "msg": "Timestamp for this request is outside of the recvWindow."}, {},
     ErrorCode.CLOCK_SKEW, "700003"),
    (400, SPOT, {"code": 700006, "msg": "IP [1.2.3.4] not in the ip white list"}, {}, ErrorCode.IP_NOT_ALLOWED, "700006"),
    (400, SPOT, {"code": 700007, "msg": "No permission to access the endpoint."}, {}, "permission_denied", "700007"),
    (429, SPOT, {"code": 429, "msg": "Too Many Requests"}, {"Retry-After": "7"}, ErrorCode.RATE_LIMITED, "429"),
    (418, SPOT, "", {"Retry-After": "120"}, ErrorCode.RATE_LIMITED, None),
    (503, SPOT, {"code": 500, "message": "Under maintenance, please try again later"}, {},
     ErrorCode.EXCHANGE_UNAVAILABLE, "500"),
    (200, SPOT, {"code": 500, "msg": "Under maintenance, please try again later"}, {},
     ErrorCode.EXCHANGE_UNAVAILABLE, "500"),
    (403, SPOT, HTML_403, {}, ErrorCode.EXCHANGE_UNAVAILABLE, None),
    (502, SPOT, HTML_502, {}, ErrorCode.EXCHANGE_UNAVAILABLE, None),
    (404, SPOT, {"code": 404, "msg": "Not Found"}, {}, "not_supported", "404"),
    # futures: HTTP 200 with success:false
    (200, CONTRACT, {"success": False, "code": 401, "message": "Not logged in"}, {}, ErrorCode.INVALID_KEY, "401"),
    (200, CONTRACT, {"success": False, "code": 402, "message": "Api_key expired"}, {}, ErrorCode.INVALID_KEY, "402"),
    (200, CONTRACT, {"success": False, "code": 602, "message": "Signature verification failed!"}, {},
     ErrorCode.INVALID_KEY, "602"),
    (200, CONTRACT, {"success": False, "code": 406, "message": "Accessed IP is not in the whitelist"}, {},
     ErrorCode.IP_NOT_ALLOWED, "406"),
    *[(200, CONTRACT, {"success": False, "code": c, "message": "permission"}, {}, "permission_denied", str(c))
      for c in (701, 702, 703, 704)],
    (200, CONTRACT, {"success": False, "code": 513, "message": "Invalid request time"}, {}, ErrorCode.CLOCK_SKEW, "513"),
    (200, CONTRACT, {"success": False, "code": 510, "message": "Requests are too frequent"}, {},
     ErrorCode.RATE_LIMITED, "510"),
    (429, CONTRACT, {"success": False, "code": 510, "message": "Requests are too frequent"}, {"Retry-After": "3"},
     ErrorCode.RATE_LIMITED, "510"),
    (200, CONTRACT, {"success": False, "code": 604, "message": "under maintenance"}, {},
     ErrorCode.EXCHANGE_UNAVAILABLE, "604"),
    (200, CONTRACT, {"success": False, "code": 801, "message": "System under maintenance"}, {},
     ErrorCode.EXCHANGE_UNAVAILABLE, "801"),
]

KUCOIN_CASES = [
    (401, KUCOIN, {"code": "400003", "msg": "KC-API-KEY not exists"}, {}, ErrorCode.INVALID_KEY, "400003"),
    (401, KUCOIN, {"code": "400005", "msg": "Invalid KC-API-SIGN"}, {}, ErrorCode.INVALID_KEY, "400005"),
    (401, KUCOIN, {"code": "400004", "msg": "Invalid KC-API-PASSPHRASE"}, {}, ErrorCode.INVALID_PASSPHRASE, "400004"),
    (403, KUCOIN, {"code": "400006", "msg": "Invalid request ip, the current clientIp is:1.2.3.4"}, {},
     ErrorCode.IP_NOT_ALLOWED, "400006"),
    (403, KUCOIN, {"code": "400007", "msg": "Access denied, require more permission."}, {}, "permission_denied", "400007"),
    (401, KUCOIN, {"code": "400002", "msg": "Invalid KC-API-TIMESTAMP"}, {}, ErrorCode.CLOCK_SKEW, "400002"),
    (429, KUCOIN, {"code": "429000", "msg": "Too Many Requests"}, {"Retry-After": "4"}, ErrorCode.RATE_LIMITED, "429000"),
    (503, KUCOIN, {"code": "500000", "msg": "System is under maintenance."}, {}, ErrorCode.EXCHANGE_UNAVAILABLE, "500000"),
    (502, KUCOIN, HTML_502, {}, ErrorCode.EXCHANGE_UNAVAILABLE, None),
    (403, KUCOIN, HTML_403, {}, ErrorCode.EXCHANGE_UNAVAILABLE, None),
    (404, KUCOIN, {"code": "404000", "msg": "interface not exists"}, {}, "not_supported", "404000"),
    (401, KUCOIN_FUTURES, {"code": "400003", "msg": "KC-API-KEY not exists"}, {}, ErrorCode.INVALID_KEY, "400003"),
    (403, KUCOIN_FUTURES, {"code": "400007", "msg": "Access denied"}, {}, "permission_denied", "400007"),
]


@pytest.mark.parametrize(("status", "url", "body", "headers", "expected", "exchange_code"), MEXC_CASES)
def test_mexc_errors_are_classified_on_the_exchange_code(
    status: int, url: str, body: Any, headers: dict[str, str], expected: str, exchange_code: str | None
) -> None:
    error = _raise_like_ccxt(Mexc(), ccxt_async.mexc, status, url, body, headers)
    assert error is not None, "ccxt must raise for this answer"
    assert error.code == expected
    assert error.exchange_code == exchange_code
    assert error.http_status == status


@pytest.mark.parametrize(("status", "url", "body", "headers", "expected", "exchange_code"), KUCOIN_CASES)
def test_kucoin_errors_are_classified_on_the_exchange_code(
    status: int, url: str, body: Any, headers: dict[str, str], expected: str, exchange_code: str | None
) -> None:
    cls = ccxt_async.kucoinfutures if "futures" in url else ccxt_async.kucoin
    error = _raise_like_ccxt(Kucoin(), cls, status, url, body, headers)
    assert error is not None, "ccxt must raise for this answer"
    assert error.code == expected
    assert error.exchange_code == exchange_code


def test_ccxt_class_alone_cannot_tell_bad_key_from_ip_block_but_we_do() -> None:
    # Both are ccxt BadRequest (EXCHANGES.md): the code table is what separates them.
    bad_key = _raise_like_ccxt(Mexc(), ccxt_async.mexc, 400, SPOT, {"code": 10072, "msg": "x"}, {})
    ip = _raise_like_ccxt(Mexc(), ccxt_async.mexc, 400, SPOT, {"code": 700006, "msg": "x"}, {})
    assert (bad_key and bad_key.code, ip and ip.code) == (ErrorCode.INVALID_KEY, ErrorCode.IP_NOT_ALLOWED)


def test_success_answers_do_not_raise() -> None:
    assert _raise_like_ccxt(Mexc(), ccxt_async.mexc, 200, SPOT, {"balances": []}, {}) is None
    assert _raise_like_ccxt(Mexc(), ccxt_async.mexc, 200, CONTRACT, {"success": True, "code": 0, "data": []}, {}) is None
    assert _raise_like_ccxt(Kucoin(), ccxt_async.kucoin, 200, KUCOIN, {"code": "200000", "data": []}, {}) is None


def test_retry_after_is_honoured_in_seconds() -> None:
    error = _raise_like_ccxt(Mexc(), ccxt_async.mexc, 429, SPOT, {"code": 429, "msg": "x"}, {"Retry-After": "7"})
    assert error is not None and error.retry_after_s == 7.0


def test_retry_after_as_http_date_counts_from_the_injected_clock() -> None:
    raw = RawResponse(status=429, path="/", headers={"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"})
    assert retry_after_seconds(raw, now=1_700_000_000.0) == 20.0


def test_kucoin_rate_limit_without_retry_after_uses_the_quota_reset() -> None:
    error = _raise_like_ccxt(
        Kucoin(), ccxt_async.kucoin, 429, KUCOIN, {"code": "429000", "msg": "x"},
        {"gw-ratelimit-limit": "2000", "gw-ratelimit-remaining": "0", "gw-ratelimit-reset": "2500"},
    )
    assert error is not None and error.retry_after_s == 2.5


def test_retry_after_is_only_reported_for_rate_limits() -> None:
    error = _raise_like_ccxt(Mexc(), ccxt_async.mexc, 503, SPOT, HTML_502, {"Retry-After": "30"})
    assert error is not None and error.code == ErrorCode.EXCHANGE_UNAVAILABLE and error.retry_after_s is None


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ccxt.RequestTimeout("mexc GET https://api.mexc.com/api/v3/account?signature=ab"), ErrorCode.EXCHANGE_UNAVAILABLE),
        (ccxt.ExchangeNotAvailable("mexc GET https://api.mexc.com/api/v3/ping"), ErrorCode.EXCHANGE_UNAVAILABLE),
        (ccxt.NetworkError("mexc GET https://api.mexc.com/api/v3/ping"), ErrorCode.EXCHANGE_UNAVAILABLE),
        (TimeoutError(), ErrorCode.EXCHANGE_UNAVAILABLE),
        (ccxt.NotSupported("mexc fetchFoo() is not supported yet"), "not_supported"),
        (ccxt.AuthenticationError('mexc requires "secret" credential'), ErrorCode.INVALID_KEY),
    ],
)
def test_transport_failures_without_an_answer(exc: BaseException, expected: str) -> None:
    error = translate(exc, Mexc().classify_raw_with(FakeClock(), ()), exchange_id="mexc").error
    assert error.code == expected
    assert "signature" not in error.detail and "http" not in error.detail


def test_an_exception_without_the_hook_is_classified_from_ccxt_message_body() -> None:
    # ccxt formats body errors as "<id> <body>"; used when no raw response is attached.
    exc = ccxt.BadRequest('mexc {"code":700006,"msg":"IP [9.9.9.9] not in the ip white list"}')
    error = translate(exc, Mexc().classify_raw_with(FakeClock(), ()), exchange_id="mexc").error
    assert error.code == ErrorCode.IP_NOT_ALLOWED
    assert error.exchange_code == "700006"


def test_detail_never_carries_key_secret_or_signature() -> None:
    echoed = {
        "code": 700002,
        "msg": f"Signature for this request is not valid. key={CANARY_KEY} secret {CANARY_SECRET} "
        "signature=3f1a9e0b7c5d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f",
    }
    error = _raise_like_ccxt(Mexc(), ccxt_async.mexc, 400, SPOT, echoed, {})
    assert error is not None and error.code == ErrorCode.INVALID_KEY
    for secret in CANARIES:
        assert secret not in error.detail
    assert "3f1a9e0b7c5d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f" not in error.detail
    assert "Signature for this request is not valid." in error.detail


def test_sanitise_uses_the_process_redactor_as_a_backstop() -> None:
    register_secret("registered-elsewhere-123")
    assert "registered-elsewhere-123" not in sanitise("oops registered-elsewhere-123 leaked")


def test_sanitise_keeps_useful_ip_text_and_bounds_length() -> None:
    text = sanitise("Invalid request ip, the current clientIp is:203.0.113.7 " + "x " * 300)
    assert "203.0.113.7" in text and len(text) <= 200


@pytest.mark.parametrize(
    ("code", "retry"),
    [
        (ErrorCode.EXCHANGE_UNAVAILABLE, True),
        (ErrorCode.RATE_LIMITED, True),
        (ErrorCode.CLOCK_SKEW, True),
        (ErrorCode.INVALID_KEY, False),
        (ErrorCode.INVALID_PASSPHRASE, False),
        (ErrorCode.IP_NOT_ALLOWED, False),
        ("permission_denied", False),
        ("not_supported", False),
        ("unknown", False),
    ],
)
def test_retry_policy_is_the_shared_set(code: str, retry: bool) -> None:
    assert should_retry(ProbeError(code=code)) is retry
