"""Logging with secret redaction.

Two layers, because either alone can miss: (1) every secret value a process handles is
registered with :func:`register_secret` the moment it is seen (the gateway on request
parsing, the connector on Vault read), and any registered value is replaced by ``[REDACTED]``
wherever it appears in a record, including exception text and tracebacks; (2) ``key=value``
and JSON-ish fields whose name says secret/passphrase/signature/token/password are masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any

REDACTED = "[REDACTED]"
_MIN_SECRET_LEN = 6
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

_FIELD_RE = re.compile(
    r"""(?ix)
    (["']?(?:secret|secret_id|passphrase|password|signature|sign|token|access_token|
    api[-_]?secret|kc-api-sign|kc-api-passphrase|x-mexc-apikey|authorization)["']?
    \s*[:=]\s*)
    (?:"[^"]*"|'[^']*'|[^\s,;&}]+)
    """
)


def register_secret(value: str | None) -> None:
    """Make ``value`` unloggable in this process from now on."""
    global _pattern
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def forget_secret(value: str | None) -> None:
    """Stop tracking ``value`` (e.g. after the connection is deleted)."""
    global _pattern
    with _lock:
        _secrets.discard(value or "")
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None


def redact(text: str) -> str:
    """``text`` with every registered secret and every secret-named field masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _FIELD_RE.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Renders the message (and exception) once, redacted, so no handler sees raw text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, service, message, extra fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_text:
            out["exc"] = record.exc_text
        return redact(json.dumps(out, default=str))


def configure_logging(service: str, level: str = "INFO", as_json: bool = True) -> None:
    """Route every logger through one redacting handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if as_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # ccxt logs request bodies/headers at DEBUG; never let that through.
    logging.getLogger("ccxt").setLevel(max(logging.INFO, root.level))
