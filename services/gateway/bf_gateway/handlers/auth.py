"""Accounts and access tokens: register, log in, log out, authenticate a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bf_gateway.adapters.passwords import Passwords
from bf_gateway.adapters.repositories import EmailTaken, RevokedTokens, UserStore
from bf_gateway.adapters.tokens import Claims, InvalidToken, IssuedToken, TokenService
from bf_gateway.domain.commands import Login, Register
from bf_gateway.domain.errors import Conflict, TooManyAttempts, Unauthenticated
from bf_gateway.domain.ratelimit import SlidingWindow
from bf_gateway.domain.users import User

BAD_LOGIN = "Email or password is wrong."


@dataclass(frozen=True)
class AuthDeps:
    users: UserStore
    revoked: RevokedTokens
    passwords: Passwords
    tokens: TokenService
    login_limiter: SlidingWindow
    clock: Callable[[], datetime]
    new_id: Callable[[], str]


async def register(cmd: Register, deps: AuthDeps) -> User:
    """Create an account. The email is already normalised (lower case) by the command."""
    password_hash = await deps.passwords.hash(cmd.password.get_secret_value())
    user = User(id=deps.new_id(), email=cmd.email, password_hash=password_hash, created_at=deps.clock())
    try:
        await deps.users.create(user)
    except EmailTaken:
        raise Conflict("An account with this email already exists; log in instead.", code="email_taken", field="email") from None
    return user


async def login(cmd: Login, client_ip: str, deps: AuthDeps) -> IssuedToken:
    """A bearer token for the right password. Attempts are limited per email and client IP.

    Every failure answers the same message, and an unknown email costs the same time as a
    wrong password, so neither tells whether an account exists.
    """
    limit_key = f"{cmd.email}|{client_ip}"
    wait = deps.login_limiter.hit(limit_key)
    if wait:
        raise TooManyAttempts(wait)
    password = cmd.password.get_secret_value()
    user = await deps.users.by_email(cmd.email)
    if user is None:
        await deps.passwords.verify_nobody(password)
        raise Unauthenticated(BAD_LOGIN)
    if not await deps.passwords.verify(user.password_hash, password):
        raise Unauthenticated(BAD_LOGIN)
    deps.login_limiter.reset(limit_key)
    if deps.passwords.needs_rehash(user.password_hash):
        upgraded = user.model_copy(update={"password_hash": await deps.passwords.hash(password)})
        await deps.users.replace(upgraded)
    return deps.tokens.issue(user.id, user.email)


async def authenticate(token: str, deps: AuthDeps) -> Claims:
    """The claims of a valid, unexpired, not logged-out token."""
    try:
        claims = deps.tokens.verify(token)
    except InvalidToken as e:
        raise Unauthenticated(f"Invalid access token: {e}.", token_error=True) from None
    if await deps.revoked.is_revoked(claims.jti):
        raise Unauthenticated("Invalid access token: it was logged out.", token_error=True)
    return claims


async def logout(claims: Claims, deps: AuthDeps) -> None:
    """Revoke the token until it would have expired."""
    await deps.revoked.revoke(claims.jti, claims.expires_at)


async def me(claims: Claims, deps: AuthDeps) -> User:
    """The caller's account."""
    user = await deps.users.by_email(claims.email)
    if user is None or user.id != claims.user_id:
        raise Unauthenticated("Invalid access token: the account does not exist.", token_error=True)
    return user
