"""Error answers, in each exchange's own codes, bodies and HTTP statuses.

A handler raises :class:`SimError`; the app turns it into the response. Each venue family
has a catalogue (code -> HTTP status, message) and one constructor. Sources: the error-code
pages of each exchange's API docs and the bodies quoted in ccxt's exception maps
(see EXCHANGES.md, "Error codes and what ccxt raises").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web


class SimError(Exception):
    """An answer that is not a success; raised anywhere below a handler."""

    def __init__(
        self,
        status: int,
        body: Mapping[str, Any] | str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code or ''}".strip())
        self.status = status
        self.body = body
        self.code = code
        self.headers = dict(headers or {})

    def to_response(self) -> web.Response:
        """The HTTP response this error stands for."""
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, content_type="text/html", headers=self.headers)
        return web.Response(
            status=self.status,
            text=json.dumps(self.body, separators=(",", ":")),
            content_type="application/json",
            headers=self.headers,
        )


# MEXC spot v3: HTTP 4xx with {"code": int, "msg": str}.
# https://www.mexc.com/api-docs/spot-v3/error-code  (statuses: "HTTP 4XX return codes are used
# for malformed requests"; 429 for rate limits; 5XX for MEXC's own failures)
MEXC_SPOT_ERRORS: dict[int, tuple[int, str]] = {
    26: (400, "operation not allowed"),
    400: (400, "api key required"),
    404: (404, "Not Found"),
    429: (429, "Too Many Requests"),
    10072: (400, "Api key info invalid"),
    700001: (400, "API-key format invalid."),
    700002: (400, "Signature for this request is not valid."),
    700003: (400, "Timestamp for this request is outside of the recvWindow."),
    700004: (400, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."),
    700005: (400, "recvWindow must less than 60000"),
    700006: (400, "IP [{ip}] not in the ip white list"),
    700007: (400, "No permission to access the endpoint."),
    -1121: (400, "Invalid symbol."),
    -2011: (400, "Unknown order sent."),
    -1102: (400, "Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
    30002: (400, "Minimum transaction volume cannot be less than :{minimum}"),
    30004: (400, "Insufficient position"),
    30005: (400, "Oversold"),
    30016: (400, "trading disabled"),
    10101: (400, "Insufficient balance"),
    30087: (400, "Order price exceeds allowed range"),
    2011: (400, "Order quantity error, please try to modify."),
    -2010: (400, "Duplicate order sent."),
}


def mexc_spot_error(code: int, msg: str | None = None, **fmt: object) -> SimError:
    """A MEXC spot error by code (``fmt`` fills placeholders such as ``ip``; ``msg`` overrides)."""
    status, template = MEXC_SPOT_ERRORS[code]
    return SimError(status, {"code": code, "msg": msg or template.format(**fmt)}, code=str(code))


# MEXC futures (contract): HTTP 200 with {"success": false, "code": int, "message": str}.
# https://www.mexc.com/api-docs/futures/error-code
MEXC_CONTRACT_ERRORS: dict[int, str] = {
    401: "Not logged in or login has expired",
    402: "Api_key expired",
    404: "Not Found",
    406: "Accessed IP is not in the whitelist",
    510: "Requests are too frequent, please try again later",
    513: "Invalid request(for open api serves time more or less than 10 seconds)",
    600: "Param error!",
    602: "Signature verification failed!",
    603: "Repeated requests",
    701: "Account read permission is required",
    702: "Account modify permission is required",
    703: "Trade information read permission is required",
    704: "Transaction information modify permission is required",
    1001: "Contract does not exist",
    2005: "Insufficient balance!",
    2009: "Position is not exists or closed.",
    2011: "Order quantity error, please try to modify.",
    2040: "The order does not exist",
}


def mexc_contract_error(code: int, *, status: int = 200, headers: Mapping[str, str] | None = None) -> SimError:
    """A MEXC futures error by code; the HTTP status stays 200 as on the real API."""
    return SimError(
        status,
        {"success": False, "code": code, "message": MEXC_CONTRACT_ERRORS[code]},
        code=str(code),
        headers=headers,
    )


# KuCoin (spot and futures): {"code": "<6 digits>", "msg": str} with an HTTP status per code.
# https://www.kucoin.com/docs-new/error-code ; statuses as observed in client issue reports
# (400001 -> 400; 400002..400005 -> 401; 400006/400007 -> 403; 429000 -> 429).
KUCOIN_ERRORS: dict[str, tuple[int, str]] = {
    "400001": (
        400,
        "Please check the header of your request for KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE",
    ),
    "400002": (401, "Invalid KC-API-TIMESTAMP"),
    "400003": (401, "KC-API-KEY not exists"),
    "400004": (401, "Invalid KC-API-PASSPHRASE"),
    "400005": (401, "Invalid KC-API-SIGN"),
    "400006": (403, "Invalid request ip, the current clientIp is:{ip}"),
    "400007": (403, "Access denied, require more permission."),
    "400100": (400, "{detail}"),
    "400600": (400, "validation.createOrder.symbolNotAvailable"),
    "404000": (404, "interface not exists"),
    "415000": (415, "Unsupported Media Type"),
    "429000": (429, "Too Many Requests"),
    "500000": (503, "System is under maintenance, please try again later."),
    "200004": (400, "Balance insufficient!"),
    "300003": (400, "Balance not enough, please first deposit at least 2 USDT before you start the battle"),
    "300009": (400, "No open positions to close."),
    "126044": (400, "clientOid duplicate"),
    "100001": (400, "error.getOrder.orderNotExist"),
}


def kucoin_error(code: str, *, headers: Mapping[str, str] | None = None, **fmt: object) -> SimError:
    """A KuCoin error by code (``fmt`` fills placeholders such as ``ip``)."""
    status, msg = KUCOIN_ERRORS[code]
    return SimError(status, {"code": code, "msg": msg.format(**fmt)}, code=code, headers=headers)


def gateway_error(status: int) -> SimError:
    """What a load balancer in front of an exchange answers when the backend is down."""
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}.get(
        status, "Server Error"
    )
    title = f"{status} {reason}"
    html = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return SimError(status, html, code=str(status))
