import logging

import pytest

from bf_shared.logs import REDACTED, RedactingFilter, JsonFormatter, redact, register_secret


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_registered_secret_is_redacted_in_message_args_and_exception() -> None:
    canary = "canary-SECRET-7f3a9c1e55"
    register_secret(canary)
    try:
        raise ValueError(f"bad signature for {canary}")
    except ValueError as e:
        record = _record("calling with %s", canary, exc=e)
    RedactingFilter().filter(record)
    line = JsonFormatter("svc").format(record)
    assert canary not in line
    assert REDACTED in line


@pytest.mark.parametrize(
    "text",
    [
        'secret="abcdefghij"',
        "passphrase=hunter2hunter2",
        '{"KC-API-SIGN": "c2lnbmF0dXJl"}',
        "signature=0123456789abcdef&timestamp=1",
        "Authorization: Bearer eyJhbGciOi",
    ],
)
def test_secret_named_fields_are_masked_even_when_unregistered(text: str) -> None:
    out = redact(text)
    assert REDACTED in out
    value = text.split("=", 1)[-1] if "=" in text else text.split(":", 1)[-1]
    assert value.strip().strip('"}').split("&")[0] not in out


def test_short_values_are_not_registered_so_logs_stay_readable() -> None:
    register_secret("abc")
    assert redact("abc def") == "abc def"
