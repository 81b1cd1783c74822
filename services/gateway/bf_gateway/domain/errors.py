"""Errors the gateway's handlers raise; the HTTP layer maps each class to one status code.

Messages are user-facing English and never contain a secret, a password or a token.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one input field, in words a user can act on."""

    field: str
    message: str


class GatewayError(Exception):
    """Base of the handlers' errors: a stable ``code`` and a human ``message``."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(GatewayError):
    """The request is well-formed but a value breaks a rule (HTTP 422)."""

    code = "validation_error"

    def __init__(self, problems: list[FieldProblem], message: str = "Some fields need fixing.") -> None:
        super().__init__(message)
        self.problems = problems


class NotFound(GatewayError):
    """No such resource for this user; another user's resource is reported the same way."""

    code = "not_found"


class Conflict(GatewayError):
    """The request clashes with existing state (duplicate name, email taken, limit reached)."""

    code = "conflict"

    def __init__(self, message: str, *, code: str = "conflict", field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


class Unauthenticated(GatewayError):
    """No valid credentials: missing, expired, revoked or malformed token, or a bad password."""

    code = "unauthorized"

    def __init__(self, message: str = "Authentication required.", *, token_error: bool = False) -> None:
        super().__init__(message)
        # True when a token was presented but refused (RFC 6750 error="invalid_token").
        self.token_error = token_error


class TooManyAttempts(GatewayError):
    """Too many attempts in the window; ``retry_after_s`` says when to try again."""

    code = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Too many attempts. Try again in {retry_after_s} seconds.")
        self.retry_after_s = retry_after_s


class Unavailable(GatewayError):
    """A dependency (Vault, NATS) failed; nothing half-done was kept, the client may retry."""

    code = "unavailable"
