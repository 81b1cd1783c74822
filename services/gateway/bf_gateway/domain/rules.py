"""Input rules shared by the request models: each returns the normalised value or raises.

Messages are written for the user (``name must be 1–64 characters``) and never quote the
value they reject, so a pasted secret can never come back in an error.
"""

from __future__ import annotations

import re
import string

from bf_shared.exchanges import EXCHANGES, ExchangeInfo

NAME_MAX = 64
KEY_MIN, KEY_MAX = 8, 256
PASSPHRASE_MAX = 128
PASSWORD_MIN, PASSWORD_MAX = 10, 1024
EMAIL_MAX = 254

_PRINTABLE_NO_SPACE = frozenset(string.ascii_letters + string.digits + string.punctuation)
_EMAIL_RE = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


class RuleViolation(ValueError):
    """A value breaks a rule; ``str(self)`` is the user-facing message."""


def connection_name(value: object) -> str:
    """1–64 characters after trimming, no control characters."""
    if not isinstance(value, str):
        raise RuleViolation(f"name must be text of 1–{NAME_MAX} characters")
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise RuleViolation(f"name must be 1–{NAME_MAX} characters")
    if any(not ch.isprintable() for ch in name):
        raise RuleViolation("name must not contain control characters")
    return name


def credential(field: str, value: object, *, low: int = KEY_MIN, high: int = KEY_MAX) -> str:
    """An API key, secret or passphrase: printable ASCII without whitespace.

    Surrounding whitespace is trimmed first: pasting from an exchange page often brings a
    trailing newline, and no exchange issues credentials with whitespace in them.
    """
    if not isinstance(value, str):
        raise RuleViolation(f"{field} must be text")
    text = value.strip()
    if not low <= len(text) <= high:
        raise RuleViolation(f"{field} must be {low}–{high} characters")
    if not set(text) <= _PRINTABLE_NO_SPACE:
        raise RuleViolation(f"{field} must contain only printable ASCII characters, without spaces")
    return text


def passphrase(value: object) -> str:
    """The KuCoin API passphrase (chosen by the user when creating the key)."""
    return credential("passphrase", value, low=1, high=PASSPHRASE_MAX)


def exchange(value: object) -> ExchangeInfo:
    """A supported exchange id (case-insensitive); the message lists the supported ones."""
    info = EXCHANGES.get(value.strip().lower()) if isinstance(value, str) else None
    if info is None:
        supported = ", ".join(sorted(EXCHANGES))
        raise RuleViolation(f"exchange is not supported; supported exchanges: {supported}")
    return info


def markets(info: ExchangeInfo, value: object) -> tuple[str, ...]:
    """A non-empty list of distinct markets the exchange offers."""
    offered = ", ".join(info.markets)
    if not isinstance(value, list | tuple) or not value:
        raise RuleViolation(f"markets must list at least one of: {offered}")
    if any(not isinstance(m, str) or m not in info.markets for m in value):
        raise RuleViolation(f"markets must be chosen from: {offered}")
    if len(set(value)) != len(value):
        raise RuleViolation("markets must not repeat a market")
    return tuple(value)


def needs_passphrase(info: ExchangeInfo) -> bool:
    """Whether the exchange's keys come with a passphrase (from the catalogue)."""
    return "passphrase" in info.credential_fields


def email(value: object) -> str:
    """Trimmed, lower-cased, syntactically valid address (no DNS lookup)."""
    if not isinstance(value, str):
        raise RuleViolation("email must be an email address")
    address = value.strip().lower()
    if len(address) > EMAIL_MAX or not _EMAIL_RE.match(address):
        raise RuleViolation("email must be a valid email address, like name@example.com")
    return address


def password(value: object) -> str:
    """10–1024 characters; kept exactly as typed."""
    if not isinstance(value, str) or not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise RuleViolation(f"password must be {PASSWORD_MIN}–{PASSWORD_MAX} characters")
    return value
