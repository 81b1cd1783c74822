"""MEXC request signing, both APIs, and their verification.

Spot v3 (https://www.mexc.com/api-docs/spot-v3/general-info, "SIGNED"): header
``X-MEXC-APIKEY``; ``signature`` = lowercase hex HMAC-SHA256(secret, totalParams) where
totalParams is the query string (before ``&signature=``) followed by the request body.
Accepted when ``timestamp < serverTime + 1000`` and ``serverTime - timestamp <= recvWindow``
(recvWindow defaults to 5000 and must be at most 60000).

Futures (https://www.mexc.com/api-docs/futures/integration-guide, "Signature"): headers
``ApiKey``, ``Request-Time`` (ms), ``Signature`` = hex HMAC-SHA256(secret,
apiKey + Request-Time + P), P = the query sorted by key for GET/DELETE, the raw JSON body for
POST. Request-Time must be within 10 s of the server time.
"""

from __future__ import annotations

import hashlib
import hmac

from bf_sim.auth import RawRequest, decoded_params, split_pairs
from bf_sim.errors import mexc_contract_error, mexc_spot_error
from bf_sim.state import ExchangeState, KeyState

SPOT_MAX_RECV_WINDOW_MS = 60_000
SPOT_DEFAULT_RECV_WINDOW_MS = 5_000
SPOT_FUTURE_TOLERANCE_MS = 1_000
CONTRACT_WINDOW_MS = 10_000


def hmac_hex(secret: str, payload: str) -> str:
    """Lowercase hex HMAC-SHA256."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def spot_signed_payload(raw_query: str, body: str = "") -> tuple[str, str | None]:
    """Split the ``signature`` pair off the raw query: (totalParams, signature or None)."""
    kept: list[str] = []
    signature: str | None = None
    for raw, name in split_pairs(raw_query):
        if name == "signature":
            signature = raw.split("=", 1)[1] if "=" in raw else ""
        else:
            kept.append(raw)
    return "&".join(kept) + body, signature


def spot_signature(secret: str, total_params: str) -> str:
    """The spot v3 ``signature`` parameter."""
    return hmac_hex(secret, total_params)


def contract_param_string(method: str, raw_query: str, body: str) -> str:
    """P: the key-sorted query for GET/DELETE, the raw body for POST."""
    if method.upper() == "POST":
        return body
    pairs = split_pairs(raw_query)
    return "&".join(raw for raw, _ in sorted(pairs, key=lambda p: p[1]))


def contract_signature(secret: str, api_key: str, request_time: str, param_string: str) -> str:
    """The futures ``Signature`` header."""
    return hmac_hex(secret, api_key + request_time + param_string)


def verify_spot(req: RawRequest, state: ExchangeState) -> KeyState:
    """Authenticate a signed spot v3 request or raise the exchange's error."""
    api_key = req.headers.get("X-MEXC-APIKEY")
    if not api_key:
        raise mexc_spot_error(400)
    key = state.find_key(api_key)
    if key is None:
        raise mexc_spot_error(10072)
    now = state.server_now_ms(key)
    if key.expired(now):
        raise mexc_spot_error(10072)
    body = req.body if req.method.upper() != "GET" and not req.body.lstrip().startswith("{") else ""
    payload, signature = spot_signed_payload(req.raw_query, body)
    params = decoded_params(req.raw_query)
    if not signature:
        raise mexc_spot_error(700004)
    if "timestamp" not in params:
        raise mexc_spot_error(-1102, param="timestamp")
    try:
        timestamp = int(params["timestamp"])
        recv_window = int(params.get("recvWindow", SPOT_DEFAULT_RECV_WINDOW_MS))
    except ValueError:
        raise mexc_spot_error(700003) from None
    if recv_window > SPOT_MAX_RECV_WINDOW_MS:
        raise mexc_spot_error(700005)
    if not (timestamp < now + SPOT_FUTURE_TOLERANCE_MS and now - timestamp <= recv_window):
        raise mexc_spot_error(700003)
    if not hmac.compare_digest(spot_signature(key.secret, payload), signature):
        raise mexc_spot_error(700002)
    if not key.ip_allowed(req.remote_ip):
        raise mexc_spot_error(700006, ip=req.remote_ip)
    return key


def verify_contract(req: RawRequest, state: ExchangeState) -> KeyState:
    """Authenticate a private futures request or raise the exchange's error."""
    api_key = req.headers.get("ApiKey")
    key = state.find_key(api_key)
    if key is None:
        raise mexc_contract_error(401)
    now = state.server_now_ms(key)
    if key.expired(now):
        raise mexc_contract_error(402)
    request_time = req.headers.get("Request-Time", "")
    signature = req.headers.get("Signature", "")
    if not request_time or not signature:
        raise mexc_contract_error(602)
    try:
        sent = int(request_time)
    except ValueError:
        raise mexc_contract_error(513) from None
    if abs(now - sent) > CONTRACT_WINDOW_MS:
        raise mexc_contract_error(513)
    expected = contract_signature(
        key.secret, key.api_key, request_time, contract_param_string(req.method, req.raw_query, req.body)
    )
    if not hmac.compare_digest(expected, signature):
        raise mexc_contract_error(602)
    if not key.ip_allowed(req.remote_ip):
        raise mexc_contract_error(406)
    return key
