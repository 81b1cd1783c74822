"""KuCoin request signing (spot and futures share it) and its verification.

https://www.kucoin.com/docs-new/authentication : headers ``KC-API-KEY``,
``KC-API-TIMESTAMP`` (ms), ``KC-API-KEY-VERSION``, ``KC-API-SIGN`` = base64
HMAC-SHA256(secret, timestamp + METHOD + requestPath(with query) + body), and for key
versions 2 and 3 ``KC-API-PASSPHRASE`` = base64 HMAC-SHA256(secret, passphrase) (version 1
sent it in clear). The timestamp must be within 5 s of the server time. The request path is
taken exactly as sent: ccxt does not percent-encode the query, so neither do we.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from bf_sim.auth import RawRequest
from bf_sim.errors import kucoin_error
from bf_sim.state import ExchangeState, KeyState

TIMESTAMP_WINDOW_MS = 5_000
_REQUIRED = ("KC-API-KEY", "KC-API-SIGN", "KC-API-TIMESTAMP", "KC-API-PASSPHRASE")


def hmac_b64(secret: str, payload: str) -> str:
    """Base64 HMAC-SHA256."""
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()


def sign(secret: str, timestamp: str, method: str, target: str, body: str = "") -> str:
    """The ``KC-API-SIGN`` header."""
    return hmac_b64(secret, timestamp + method.upper() + target + body)


def encrypt_passphrase(secret: str, passphrase: str) -> str:
    """The ``KC-API-PASSPHRASE`` header for key versions 2 and 3."""
    return hmac_b64(secret, passphrase)


def verify(req: RawRequest, state: ExchangeState) -> KeyState:
    """Authenticate a private request or raise KuCoin's error."""
    if any(not req.headers.get(name) for name in _REQUIRED):
        raise kucoin_error("400001")
    key = state.find_key(req.headers["KC-API-KEY"])
    if key is None:
        raise kucoin_error("400003")
    timestamp = req.headers["KC-API-TIMESTAMP"]
    try:
        sent = int(timestamp)
    except ValueError:
        raise kucoin_error("400002") from None
    if abs(state.server_now_ms(key) - sent) > TIMESTAMP_WINDOW_MS:
        raise kucoin_error("400002")
    # The signature is checked before the passphrase: a wrong secret answers "bad signature"
    # (400005); a right secret with a wrong passphrase answers 400004.
    expected = sign(key.secret, timestamp, req.method, req.target, req.body)
    if not hmac.compare_digest(expected, req.headers["KC-API-SIGN"]):
        raise kucoin_error("400005")
    version = req.headers.get("KC-API-KEY-VERSION", "1")
    expected_passphrase = key.passphrase or ""
    if version in ("2", "3"):
        expected_passphrase = encrypt_passphrase(key.secret, expected_passphrase)
    if not key.passphrase or not hmac.compare_digest(expected_passphrase, req.headers["KC-API-PASSPHRASE"]):
        raise kucoin_error("400004")
    if not key.ip_allowed(req.remote_ip):
        raise kucoin_error("400006", ip=req.remote_ip)
    return key
