"""Stable error codes of a connection test, and the English cause/remedy for each.

The codes are part of the public API contract (DESIGN.md); the texts are the English
defaults — the gateway translates them by ``Accept-Language``.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a connection test did not pass. Values are stable API strings."""

    INVALID_KEY = "invalid_key"
    INVALID_PASSPHRASE = "invalid_passphrase"
    NO_READ_PERMISSION = "no_read_permission"
    NO_TRADE_PERMISSION = "no_trade_permission"
    NO_FUTURES_PERMISSION = "no_futures_permission"
    WITHDRAW_ENABLED = "withdraw_enabled"
    # The exchange cannot tell whether withdrawal is enabled and the user has not yet
    # confirmed it is off: the connection waits for the attestation (DESIGN.md, Policy).
    WITHDRAW_UNCONFIRMED = "withdraw_unconfirmed"
    IP_NOT_ALLOWED = "ip_not_allowed"
    EXCHANGE_UNAVAILABLE = "exchange_unavailable"
    RATE_LIMITED = "rate_limited"
    CLOCK_SKEW = "clock_skew"


#: Codes that say nothing about the key: the tester retries them with backoff.
RETRYABLE: frozenset[ErrorCode] = frozenset(
    {ErrorCode.EXCHANGE_UNAVAILABLE, ErrorCode.RATE_LIMITED, ErrorCode.CLOCK_SKEW}
)


def should_retry(code: ErrorCode | None) -> bool:
    """True when a test that failed with ``code`` is retried automatically."""
    return code in RETRYABLE


#: (cause, remedy) in English for each code.
TEXTS: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.INVALID_KEY: (
        "The exchange does not recognise this API key, or the secret does not match it.",
        "Copy the API key and secret again from the exchange, or create a new key.",
    ),
    ErrorCode.INVALID_PASSPHRASE: (
        "The API passphrase is wrong.",
        "Re-enter the passphrase you chose when you created the key on KuCoin.",
    ),
    ErrorCode.NO_READ_PERMISSION: (
        "The key cannot read balances, orders or positions.",
        "Enable the read (General) permission on the key.",
    ),
    ErrorCode.NO_TRADE_PERMISSION: (
        "The key cannot trade.",
        "Enable trading on the key; keep withdrawal disabled.",
    ),
    ErrorCode.NO_FUTURES_PERMISSION: (
        "Futures are wanted but the key has no futures rights.",
        "Enable futures trading on the key, or remove the futures market from this connection.",
    ),
    ErrorCode.WITHDRAW_ENABLED: (
        "The key can withdraw funds. For your safety it will never be used.",
        "Delete this key on the exchange and create a new one with withdrawal disabled.",
    ),
    ErrorCode.WITHDRAW_UNCONFIRMED: (
        "The exchange does not tell whether this key can withdraw.",
        "Check on the exchange that withdrawal is disabled for this key, then confirm it here.",
    ),
    ErrorCode.IP_NOT_ALLOWED: (
        "The exchange rejects requests from the platform's IP address.",
        "Add the platform's server IPs to the key's IP whitelist.",
    ),
    ErrorCode.EXCHANGE_UNAVAILABLE: (
        "The exchange is down, in maintenance, or not answering.",
        "Nothing to do: the test is retried automatically.",
    ),
    ErrorCode.RATE_LIMITED: (
        "The exchange is throttling requests.",
        "Nothing to do: the test is retried automatically.",
    ),
    ErrorCode.CLOCK_SKEW: (
        "The exchange rejected the request timestamp.",
        "Nothing to do: the test is retried after the clocks are synchronised.",
    ),
}
