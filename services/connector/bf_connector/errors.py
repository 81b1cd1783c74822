"""The connector's own error classes, and the ONE place exchange failures are translated.

Every ccxt call goes through :meth:`bf_connector.exchanges.base.VenueSession.call`, which hands
any exception to :func:`translate`. Classification is on the exchange's own code, parsed
from the raw response body that the ccxt hook in ``exchanges/base.py`` attaches to the
exception (:data:`RAW_ATTR`) — never on ccxt's exception class alone (MEXC 10072 and 700006
are both ``BadRequest``; KuCoin 400003–400007 are all ``AuthenticationError``) and never by
searching message text. Each venue supplies its code table; this module holds the HTTP
rules every venue shares.

What the caller does with the result:

* :class:`ExchangeError` — the exchange answered (or did not) in a way we classified; its
  :class:`~bf_shared.messages.ProbeError` payload goes to the tester as a fact.
  :func:`should_retry` says whether the failure is about the exchange (retry later) or the key.
* Anything else escaping a handler is a bug in the connector.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bf_shared.codes import ErrorCode
from bf_shared.codes import should_retry as _should_retry_code
from bf_shared.logs import REDACTED, redact
from bf_shared.messages import ProbeError

#: What a probe error's ``code`` may be (the union ``ProbeError.code`` accepts).
ProbeCode = ErrorCode | Literal["permission_denied", "not_supported", "unknown"]

#: The attribute under which the ccxt hook stores the :class:`RawResponse` on ccxt's exception.
RAW_ATTR = "bf_raw_response"

_DETAIL_MAX = 200
# Long hex or base64 runs: signatures, HMACs, tokens, keys. An exchange that echoes one back
# must not get it into a reply, a log line or a metric.
_TOKEN_RE = re.compile(r"[A-Fa-f0-9]{24,}|[A-Za-z0-9+/=_-]{32,}")


@dataclass(frozen=True)
class RawResponse:
    """One HTTP answer from an exchange, as the ccxt hook saw it (no request data: no signature)."""

    status: int
    path: str
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one (HTML, empty, a list)."""
        try:
            parsed = json.loads(self.body) if self.body else None
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


class ExchangeError(Exception):
    """An exchange call failed; ``error`` says why in the project's terms.

    The message is the sanitised detail only: it never carries a key, secret, signature or URL.
    """

    def __init__(self, error: ProbeError) -> None:
        super().__init__(f"{error.code}: {error.detail}" if error.detail else str(error.code))
        self.error = error

    @classmethod
    def of(
        cls,
        code: ProbeCode,
        detail: str = "",
        *,
        exchange_code: str | None = None,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> ExchangeError:
        """Shorthand constructor (``detail`` must already be safe)."""
        return cls(
            ProbeError(
                code=code,
                exchange_code=exchange_code,
                http_status=http_status,
                retry_after_s=retry_after_s,
                detail=detail,
            )
        )


def should_retry(error: ProbeError) -> bool:
    """True when ``error`` is about the exchange, not the key: the tester retries it later.

    The retryable set is :data:`bf_shared.codes.RETRYABLE` (one policy for the whole system);
    connector-only codes (``permission_denied``, ``not_supported``, ``unknown``) are not in it.
    """
    return isinstance(error.code, ErrorCode) and _should_retry_code(error.code)


def sanitise(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` made safe for a reply, a log line or an exception message.

    Known secret values (key, secret, passphrase of the call) are removed first, then anything
    that looks like a signature or token, then the process-wide redactor runs as a backstop;
    the result is one short line.
    """
    for value in secrets:
        if value:
            text = text.replace(value, REDACTED)
    text = _TOKEN_RE.sub(REDACTED, text)
    text = redact(" ".join(text.split()))
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def retry_after_seconds(raw: RawResponse, now: float) -> float | None:
    """``Retry-After`` (delta seconds or an HTTP date, RFC 9110 §10.2.3) as seconds from ``now``."""
    value = raw.header("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


#: A venue's table: the exchange's own error code -> what it means for us.
CodeTable = Mapping[str, ProbeCode]


def classify_response(
    raw: RawResponse,
    *,
    exchange_code: str | None,
    message: str | None,
    table: CodeTable,
    now: float,
    secrets: Iterable[str] = (),
) -> ProbeError:
    """Classify one failed answer: the venue's own code first, then the shared HTTP rules.

    HTTP rules (when the code is not in the table): 429 and 418 (MEXC's IP ban) are
    ``rate_limited``; 5xx is ``exchange_unavailable``; a 403 whose body is not JSON is a
    WAF or maintenance page in front of the exchange (``exchange_unavailable``, the key was
    never looked at); 404 is ``not_supported`` (the endpoint does not exist there); anything
    else is ``unknown`` with the exchange's code kept for diagnosis.
    """
    retry_after = retry_after_seconds(raw, now)
    detail = sanitise(message or "", secrets=secrets)
    code: ProbeCode
    if exchange_code is not None and exchange_code in table:
        code = table[exchange_code]
    elif raw.status in (429, 418):
        code = ErrorCode.RATE_LIMITED
    elif raw.status >= 500:
        code = ErrorCode.EXCHANGE_UNAVAILABLE
    elif raw.status == 403 and raw.json() is None:
        code = ErrorCode.EXCHANGE_UNAVAILABLE
    elif raw.status == 404:
        code = "not_supported"
    else:
        code = "unknown"
    if not detail:
        detail = f"HTTP {raw.status}" if raw.status >= 400 else "the exchange refused the request"
    return ProbeError(
        code=code,
        exchange_code=exchange_code,
        http_status=raw.status,
        retry_after_s=retry_after if code == ErrorCode.RATE_LIMITED else None,
        detail=detail,
    )


Classifier = Callable[[RawResponse], ProbeError]


def translate(exc: BaseException, classify: Classifier, *, exchange_id: str) -> ExchangeError:
    """Turn whatever a ccxt call raised into an :class:`ExchangeError` (raise it ``from exc``).

    Order of evidence: the raw response attached by the ccxt hook; else ccxt's own message,
    which ccxt formats as ``"<exchange id> <body>"`` for body errors; else the transport:
    timeouts and connection failures are ``exchange_unavailable``.
    """
    # Imported here so this module stays importable (and testable) without ccxt's weight.
    import ccxt

    raw = getattr(exc, RAW_ATTR, None)
    if raw is None and isinstance(exc, ccxt.BaseError):
        raw = _raw_from_message(str(exc), exchange_id)
    if isinstance(raw, RawResponse):
        return ExchangeError(classify(raw))
    if isinstance(exc, (ccxt.RequestTimeout, TimeoutError)):
        return ExchangeError.of(ErrorCode.EXCHANGE_UNAVAILABLE, "the exchange did not answer in time")
    if isinstance(exc, ccxt.NetworkError):
        # DDoSProtection and RateLimitExceeded are NetworkErrors too, but only reach here
        # without a response, i.e. raised by ccxt itself: still "the exchange is not usable now".
        return ExchangeError.of(ErrorCode.EXCHANGE_UNAVAILABLE, f"network error ({type(exc).__name__})")
    if isinstance(exc, ccxt.NotSupported):
        return ExchangeError.of("not_supported", "not supported by this exchange client")
    if isinstance(exc, ccxt.AuthenticationError):
        # Raised before any request, e.g. a required credential is empty.
        return ExchangeError.of(ErrorCode.INVALID_KEY, "incomplete credentials")
    return ExchangeError.of("unknown", f"unexpected {type(exc).__name__}")


def _raw_from_message(message: str, exchange_id: str) -> RawResponse | None:
    prefix = exchange_id + " "
    if not message.startswith(prefix):
        return None
    body = message[len(prefix) :].strip()
    if not body.startswith("{"):
        return None
    try:
        json.loads(body)
    except ValueError:
        return None
    # No status is known here: 200 lets the venue's code table decide alone.
    return RawResponse(status=200, path="", body=body)
