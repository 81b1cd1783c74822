"""Access tokens: JWT HS256 (pyjwt) with ``sub``, ``email``, ``iat``, ``exp`` and ``jti``.

Expiry is checked against the injected clock (pyjwt's own check is turned off), so tests
can expire a token without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import SecretStr

from bf_gateway.domain.ids import is_id

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not one of ours. Says which, never echoes it."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    user_id: str
    email: str
    jti: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    claims: Claims


class TokenService:
    """Issues and verifies the gateway's bearer tokens."""

    def __init__(
        self,
        secret: SecretStr,
        ttl: timedelta,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        if len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret
        self._ttl = ttl
        self._clock = clock
        self._new_id = new_id

    def issue(self, user_id: str, email: str) -> IssuedToken:
        now = self._clock().replace(microsecond=0)
        claims = Claims(user_id, email, self._new_id(), now, now + self._ttl)
        payload = {
            "sub": user_id,
            "email": email,
            "jti": claims.jti,
            "iat": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        token = jwt.encode(payload, self._secret.get_secret_value(), algorithm=ALGORITHM)
        return IssuedToken(token, int(self._ttl.total_seconds()), claims)

    def verify(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._secret.get_secret_value(),
                algorithms=[ALGORITHM],
                options={"require": ["sub", "jti", "iat", "exp"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise InvalidToken("the token is malformed or its signature is wrong") from None
        try:
            claims = Claims(
                user_id=str(payload["sub"]),
                email=str(payload.get("email", "")),
                jti=str(payload["jti"]),
                issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            )
        except (TypeError, ValueError, OverflowError):
            raise InvalidToken("the token's claims are malformed") from None
        if not (is_id(claims.user_id) and is_id(claims.jti)):
            raise InvalidToken("the token's claims are malformed")
        if self._clock() >= claims.expires_at:
            raise InvalidToken("the token has expired")
        return claims
